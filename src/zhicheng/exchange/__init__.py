"""The data behind catalog resources and the governed exchange API (共享交换).

A resource's rows are either *hosted* (kept in a table of their own, loaded from uploads or pulled from the
provider) or *proxied* (fetched from the provider's own API per call). Either way a consumer reads them only
through a grant: granted items only, masked by sensitivity and the grant's profile, rate-limited per grant,
and every call on the audit chain.
"""
