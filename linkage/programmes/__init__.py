"""Per-unit compensation programmes beyond the GEP-linked allocation.

- :mod:`linkage.programmes.cropland`: cropland protection compensation (耕地保护补偿, §(六));
- :mod:`linkage.programmes.transfer`: key ecological function area transfer payment
  (重点生态功能区转移支付, §(八)), with the HJ 192 grading of the eco-environment index change;
- :mod:`linkage.programmes.evaluation`: demonstration-designation awards (§(十九)) and the
  performance-evaluation factor on next year's transfer (§(二十));
- :mod:`linkage.programmes.settle`: runs them through the de-duplication ledger and closes
  every budget to the fen.

Section numbers refer to the Beijing 2022 implementation opinions on deepening ecological
protection compensation (北京市关于深化生态保护补偿制度改革的实施意见).
"""
