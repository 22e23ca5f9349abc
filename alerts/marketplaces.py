"""Amazon marketplace ids as sellers know them (SP-API "Marketplace IDs" reference). Pure data."""
from __future__ import annotations

MARKETPLACE_NAMES: dict[str, str] = {
    "ATVPDKIKX0DER": "Amazon.com", "A2EUQ1WTGCTBG2": "Amazon.ca", "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A2Q3Y263D00KWC": "Amazon.com.br", "A1F83G8C2ARO7P": "Amazon.co.uk", "A1PA6795UKMFR9": "Amazon.de",
    "A13V1IB3VIYZZH": "Amazon.fr", "APJ6JRA9NG5V4": "Amazon.it", "A1RKKUPIHCS9HS": "Amazon.es",
    "A1805IZSGTT6HS": "Amazon.nl", "A2NODRKZP88ZB9": "Amazon.se", "A1C3SOZRARQ6R3": "Amazon.pl",
    "AMEN7PMS3EDWL": "Amazon.com.be", "A28R8C7NBKEWEA": "Amazon.ie", "A33AVAJ2PDY3EV": "Amazon.com.tr",
    "A17E79C6D8DWNP": "Amazon.sa", "A2VIGQ35RCS4UG": "Amazon.ae", "ARBP9OOSHTCHU": "Amazon.eg",
    "A21TJRUUN4KGV": "Amazon.in", "A19VAU5U5O7RUS": "Amazon.sg", "A39IBJ37TRP1C6": "Amazon.com.au",
    "A1VC38T7YXB528": "Amazon.co.jp", "AE08WJ6YKNBMC": "Amazon.co.za",
}


def marketplace_name(marketplace_id: str) -> str:
    """"Amazon.com" for ATVPDKIKX0DER; an id Amazon adds later is shown as it is."""
    return MARKETPLACE_NAMES.get(marketplace_id, marketplace_id)
