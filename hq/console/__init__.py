"""HQ's web console for HQ staff: publish content, watch its rollout, roll it back.

Served by the HQ service under `/console` (hq/app.py mounts `console_app`):
Jinja2 templates and static files shipped in this package, staff accounts with
roles (staff.py), signed session cookies and CSRF tokens from maintained
middleware (app.py), and one permission question asked everywhere
(permissions.py). Pages are one module per kind in views/; every page also
answers JSON at its URL + `.json`. docs/console.md is the guide.
"""
