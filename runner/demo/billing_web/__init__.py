"""BILLSYS 4.2: the bundled legacy order-entry and billing web application."""

from .app import BillingSettings, create_app, field_name

__all__ = ["BillingSettings", "create_app", "field_name"]
