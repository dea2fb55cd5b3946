"""HQ's recommendation model: trained on every store's visits, shipped to the stores.

    events.py     what it learns from: lifts, comparisons, imported sales, as arrays
    train.py      item-item co-occurrence in a visit, time-decayed; popularity (pure)
    evaluate.py   the held-out week: hit rate@5 and coverage against popularity, ALS
    versions.py   model versions in `recommendation_models`
    sales.py      a till's sales export, checked row by row (`model import-sales`)
    ship.py       a content release with recommender.json, only if it beats popularity
    synthetic.py  made-up, shop-like visits for the benchmark and tests
    cli.py        `kiosk-hq model`

docs/recommendations.md describes it; the kiosk's side is content/recommend.py.
"""
