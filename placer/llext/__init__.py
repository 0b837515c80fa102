"""The integrated loader: read, place, link and fit extensions as Zephyr does."""
