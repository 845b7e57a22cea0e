"""Lessons (YAML files read safely) and the slides the Presenter draws from them."""
