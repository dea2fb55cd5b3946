"""The store staff's attendant application (`kiosk-attendant`): feed, alerts, kiosk health."""
