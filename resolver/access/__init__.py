"""Who may ask what: API keys with departments and scopes, masking of personal fields, the audit log.

Engine-side and HTTP-free: the API calls these, tests call them directly.
"""
