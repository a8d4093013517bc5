"""The console's shell: layout, navigation registry, access guard, errors, i18n, static assets."""
