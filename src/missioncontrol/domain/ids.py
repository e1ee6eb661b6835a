"""Identifier types shared by every layer."""

from typing import NewType

ServiceId = NewType("ServiceId", str)
