"""Economics of a scenario: power and energy, total cost of ownership, availability.

* :mod:`capplan.economics.power` — host power models (SPECpower curve, linear, Fan et al.),
  on/off policy, energy, PUE, CO2.
* :mod:`capplan.economics.cost` — depreciation, licences by virtualization mode, labour,
  space and energy costs; the TCO breakdown.
* :mod:`capplan.economics.availability` — closed-form VM and service availability (host
  failures, HA restart with N+k reserve, storage path, maintenance) and its seeded Monte
  Carlo check.
* :mod:`capplan.economics.evaluate` — the glue from an emulation, a placement, the catalog
  and :class:`capplan.spec.economics.EconomicsSettings` to the figures, before and after.
"""
