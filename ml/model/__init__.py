"""The multi-task credit model (``credit_model``), its losses (``losses``) and training loop (``fit``)."""
