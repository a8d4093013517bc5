"""Users, roles with permissions scoped to an org subtree, console sessions, API tokens. Deny by default."""
