"""Word lists for a believable New Zealand gift-and-homeware retailer."""

from __future__ import annotations

from typing import NamedTuple

#: (outlet name, city, suburb, postcode, register/invoice prefix)
OUTLETS = [
    ("Auckland CBD", "Auckland", "Auckland Central", "1010", "AKL"),
    ("Wellington", "Wellington", "Te Aro", "6011", "WLG"),
    ("Christchurch", "Christchurch", "Riccarton", "8011", "CHC"),
    ("Hamilton", "Hamilton", "Hamilton Central", "3204", "HLZ"),
    ("Tauranga", "Tauranga", "Mount Maunganui", "3116", "TRG"),
    ("Dunedin", "Dunedin", "North Dunedin", "9016", "DUD"),
    ("Queenstown", "Queenstown", "Queenstown Central", "9300", "ZQN"),
    ("Napier", "Napier", "Ahuriri", "4110", "NPE"),
    ("Nelson", "Nelson", "Nelson Central", "7010", "NSN"),
    ("Palmerston North", "Palmerston North", "Hokowhitu", "4410", "PMR"),
]
STREETS = ["Queen Street", "Lambton Quay", "Colombo Street", "Victoria Street", "Maunganui Road",
           "George Street", "Shotover Street", "Emerson Street", "Trafalgar Street", "The Square"]


class ItemKind(NamedTuple):
    noun: str
    category: str  # two letters, the start of every SKU of the kind
    materials: tuple[str, ...]
    price_range: tuple[int, int]  # tax-inclusive dollars
    variant: tuple[str, tuple[str, ...]] | None  # (option name, values)


_SIZES = ("Size", ("S", "M", "L", "XL"))
_COLOURS = ("Colour", ("Black", "Natural", "Navy", "Forest", "Rust"))
ITEMS = [
    ItemKind("Beanie", "AP", ("Merino", "Wool", "Possum Merino", "Cotton"), (29, 69), _COLOURS),
    ItemKind("Scarf", "AP", ("Merino", "Linen", "Wool", "Cashmere"), (39, 149), _COLOURS),
    ItemKind("Socks", "AP", ("Merino", "Bamboo", "Cotton", "Wool"), (15, 35), _SIZES),
    ItemKind("T-Shirt", "AP", ("Organic Cotton", "Merino", "Hemp"), (39, 89), _SIZES),
    ItemKind("Hoodie", "AP", ("Organic Cotton", "Merino", "Fleece"), (79, 179), _SIZES),
    ItemKind("Tea Towel", "HW", ("Linen", "Cotton", "Waffle"), (12, 29), None),
    ItemKind("Mug", "HW", ("Ceramic", "Stoneware", "Enamel"), (18, 45), _COLOURS),
    ItemKind("Cutting Board", "HW", ("Kauri", "Rimu", "Oak", "Bamboo"), (35, 129), None),
    ItemKind("Serving Bowl", "HW", ("Stoneware", "Rimu", "Glass", "Ceramic"), (29, 99), None),
    ItemKind("Coaster Set", "HW", ("Cork", "Rimu", "Slate", "Ceramic"), (19, 49), None),
    ItemKind("Throw", "HW", ("Merino", "Alpaca", "Cotton", "Wool"), (89, 299), _COLOURS),
    ItemKind("Candle", "GF", ("Soy", "Beeswax", "Coconut"), (19, 59), None),
    ItemKind("Notebook", "ST", ("Recycled", "Leather", "Linen"), (12, 39), None),
    ItemKind("Tote Bag", "GF", ("Canvas", "Jute", "Harakeke"), (19, 59), None),
    ItemKind("Hand Cream", "BD", ("Manuka Honey", "Kawakawa", "Lavender"), (14, 39), None),
    ItemKind("Soap", "BD", ("Goat Milk", "Manuka Honey", "Pumice"), (8, 18), None),
    ItemKind("Honey", "FD", ("Manuka", "Clover", "Rewarewa", "Kamahi"), (12, 89), None),
    ItemKind("Coffee Beans", "FD", ("Single Origin", "Dark Roast", "Decaf"), (16, 32), None),
    ItemKind("Chocolate Bar", "FD", ("Dark", "Milk", "Sea Salt"), (6, 14), None),
    ItemKind("Print", "AR", ("Giclee", "Screen", "Linocut"), (49, 249), _SIZES),
]
ADJECTIVES = ["Classic", "Handmade", "Everyday", "Coastal", "Alpine", "Heritage", "Essential",
              "Kiwi", "Rustic", "Southern", "Harbour", "Native", "Summit", "Tidal", "Bush"]
COLOUR_CODES = {"Black": "BLK", "Natural": "NAT", "Navy": "NVY", "Forest": "FOR", "Rust": "RST"}

SUPPLIERS = ["Kiwi Craft Co", "Southern Wool Ltd", "Harbour Ceramics", "Bush Honey Collective"]
BRANDS = ["Tidewater", "Kōwhai Lane", "Stonefield", "Mōhio", "Little Fern", "Kauri & Co"]
#: product type name per SKU category
PRODUCT_TYPES = {"AP": "Apparel", "HW": "Homeware", "GF": "Gifts", "FD": "Food", "BD": "Body",
                 "ST": "Stationery", "AR": "Art"}

FIRST_NAMES = ["Aroha", "Liam", "Olivia", "Noah", "Isla", "Oliver", "Amelia", "Jack", "Charlotte",
               "Nikau", "Mia", "Leo", "Harper", "Tama", "Ava", "George", "Ruby", "Mason", "Ella",
               "Wiremu", "Sophie", "Hunter", "Grace", "Manaia", "Zoe", "Lucas", "Hana", "Finn"]
LAST_NAMES = ["Smith", "Wilson", "Ngata", "Brown", "Taylor", "Williams", "Parata", "Jones",
              "Walker", "Thompson", "Anderson", "Te Whata", "Harris", "Clarke", "Robinson",
              "Tipene", "White", "Martin", "Campbell", "Kelly", "Patel", "Chen", "Singh"]
