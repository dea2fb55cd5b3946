"""HQ's content publishing: releases built from bundles, signed per kiosk, served.

- assets.py: the asset store (content-addressed by SHA-256; a directory by default)
- signing.py: HQ's Ed25519 content key, its rotation chain, the signed envelope
- targeting.py: targets (all, region, tag, store) and which release a kiosk gets (pure)
- selection.py: the same, read from the database
- releases.py: publish from a folder or an edit, list, revoke (the service the CLI,
  the admin API and the console share)
- rollout.py: how a release is doing across the kiosks it is for
- manifest.py: each kiosk's signed manifest, rendered and cached
- reports.py: what kiosks report (status, failures), stored once
- upload.py: a bundle uploaded as tar or zip, unpacked safely
- api.py: the kiosk API (/v1/content/...) and the admin API (/v1/admin/content/...)

The wire format is docs/content-releases.md. HQ imports `content` (the bundle
format) to refuse at publish what every kiosk would refuse at install.
"""
