"""HQ's analytics: hourly rollups of the events HQ holds (rollup.py), the figures the
console's analytics pages show (figures.py), and their charts (charts.py)."""
