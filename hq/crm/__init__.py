"""The chain's customer records, built from the events kiosks send.

- `people`: pure normalising of what shoppers typed (E.164 phone numbers,
  lower-cased emails); no I/O.
- `facts`: the CRM's own frozen types for what an accepted event says.
- `projections`: writes facts into the CRM tables, in bulk, inside the ingest
  transaction.
- `queries`: finding a customer, their timeline and consents; `export`: CSV.
- `tags`: pure: canonical tag ids and the keyed tag hash (the contract with kiosks).
- `recognition`: members' tag bindings and the member feed kiosks recognise by.
- `erasure`: erasing a person, and keeping their later events without them.
- `withdrawal`: consent withdrawals staff record (a member on the hotline).
- `dedupe`: pure: likely duplicate records, households, the stricter consent rule
  for merges; `merges`: merging two records, undoing it; `records`: a record's
  address, household and search (the console's customer pages);
  `customers_cli`: `kiosk-hq customers duplicates | merge | unmerge ...`.
- `residue`: clearing what removals leave in the database's files (SQLite's WAL,
  PostgreSQL's dead tuples).
- `coupon_codes`: pure: the coupon code format and its keys (the contract with kiosks).
- `coupons`: the coupon secret and kiosk numbers, redeeming a code once across the
  chain, stores' offline redemptions and double redemptions.
- `offers`: member offers shown and printed, and a member's offer moments.

A customer is one E.164 phone number. Kiosks know members by a member id they
make at sign-up, so one customer who signed up at two stores has two member ids.
Consents and interactions are kept by member id and joined to the customer when
read: a member's events may reach HQ before their sign-up does.
"""
