"""Run by tryton_app.make_database in a process of its own (proteus starts trytond inside the process that
uses it): the company, the admin's password, parties and salable products of a fresh sales database.

    python tryton_setup.py CONF DATABASE ADMIN_PASSWORD "['party', ...]" "{'product': 'price', ...}"
"""

import ast
import sys
from decimal import Decimal

from proteus import Model, config

conf, database, password, parties, products = sys.argv[1:]
config.set_trytond(database, config_file=conf)

from trytond.modules.company.tests.tools import create_company  # noqa: E402  (needs the config above)

# the first-run wizards are done, so the client opens straight on its menu
Item = Model.get("ir.module.config_wizard.item")
for item in Item.find([("state", "!=", "done")]):
    item.state = "done"
    item.save()
Currency = Model.get("currency.currency")
euro = Currency(name="Euro", code="EUR", symbol="€", rounding=Decimal("0.01"))
euro.save()
create_company(currency=euro)
User = Model.get("res.user")
admin, = User.find([("login", "=", "admin")])
admin.password = password
admin.save()
Party = Model.get("party.party")
for name in ast.literal_eval(parties):
    Party(name=name).save()
Unit, = Model.get("product.uom").find([("name", "=", "Unit")])
Template = Model.get("product.template")
for name, price in ast.literal_eval(products).items():
    Template(name=name, default_uom=Unit, type="goods", salable=True, list_price=Decimal(price)).save()
