"""The organisation: departments, partner enterprises, agreements and periods."""
