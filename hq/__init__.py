"""HQ: the chain's central service. Kiosks enrol here and send their events here;
HQ keeps the customer records (CRM) that sign-ups and consents build.

The only thing HQ shares with the kiosk is the wire format in docs/hq-api.md.
"""
