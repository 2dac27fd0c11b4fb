"""Personal data under UU 27/2022 (Pelindungan Data Pribadi): what the IVR erases after
``[privacy] retention_days`` (:mod:`ivr.privacy.retention`), and one person's data
exported or erased on request (:mod:`ivr.privacy.person`, ``pln123 privacy``)."""
