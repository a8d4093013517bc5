"""One-stop government services (一网通办): the service item catalog, declarative flows, cases with one-window
acceptance, parallel review on working-day clocks, supervision."""
