"""Code that only one study uses, one subpackage per study."""
