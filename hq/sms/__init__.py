"""Text messages from HQ: a member's "send to my phone" at a kiosk, delivered.

The kiosk never holds a member's phone number. It queues an `offer_text_requested`
event; ingest turns it into one `sms_requests` row (`queue`, exactly once by event
id); a worker step (`sender`, from every HQ worker's sweeper and `kiosk-hq sms send`)
claims due rows, looks up the member's number on record (`recipients`), decides
(`rules`: withdrawn, expired, no number, capped; backoff), writes the text in their
language (`message`) and hands it to the configured provider (`provider`: `aliyun`,
`twilio`, `log_only`; chosen in `config`), paced by a token bucket (`pacing`).
`cli`: `kiosk-hq sms send|status`. docs/sms.md says what is guaranteed and how to
set it up.
"""
