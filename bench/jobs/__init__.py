"""Job bodies shared by every queue measured, and the capataz job module."""
