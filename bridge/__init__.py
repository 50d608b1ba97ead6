"""Floorlink."""
