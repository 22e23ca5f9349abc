"""Amazon-shaped JSON for simulated orders, packages, feedback rows and financial events (models in spapi/models/)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.marketplaces import MARKETPLACE_NAMES
from daemon.clock import format_instant
from daemon.simulator.scenario import Event
from daemon.simulator.state import OrderState

CANCELLED_BY_2026 = {"seller": "MERCHANT", "buyer": "BUYER", "amazon": "AMAZON"}
FULFILLMENT_STATUS_2026 = {"Canceled": "CANCELLED", "Shipped": "SHIPPED", "Unshipped": "UNSHIPPED", "Pending": "PENDING"}


def money(amount: Any, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": f"{float(amount):.2f}"}


def order_v0(state: OrderState) -> dict[str, Any]:
    """An Orders v0 `Order`."""
    o = state.data
    mfn = o["channel"] == "MFN"
    qty = int(o["quantity"])
    shipped = state.status == "Shipped"
    body: dict[str, Any] = {
        "AmazonOrderId": o["order_id"],
        "PurchaseDate": format_instant(o["purchase_date"]),
        "LastUpdateDate": format_instant(state.last_update),
        "OrderStatus": state.status,
        "FulfillmentChannel": o["channel"],
        "SalesChannel": MARKETPLACE_NAMES.get(o["marketplace_id"], "Amazon"),
        "OrderTotal": money(o["total"], o["currency"]),
        "NumberOfItemsShipped": qty if shipped else 0,
        "NumberOfItemsUnshipped": 0 if shipped else qty,
        "MarketplaceId": o["marketplace_id"],
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "IsReplacementOrder": bool(o.get("is_replacement", False)),
        "IsBusinessOrder": bool(o.get("is_business", False)),
        "IsPrime": False,
        "IsPremiumOrder": False,
    }
    if mfn:  # Amazon returns ship and delivery dates for seller-fulfilled orders only
        body["EarliestShipDate"] = format_instant(o["earliest_ship_date"])
        body["LatestShipDate"] = format_instant(o["latest_ship_date"])
        body["EarliestDeliveryDate"] = format_instant(o["earliest_delivery_date"])
        if state.status != "Canceled":
            body["LatestDeliveryDate"] = format_instant(o["latest_delivery_date"])
    return body


def order_items_v0(state: OrderState) -> dict[str, Any]:
    """An Orders v0 `OrderItemsList` with one item; buyer-requested cancels carry BuyerRequestedCancel."""
    o = state.data
    qty = int(o["quantity"])
    item: dict[str, Any] = {
        "ASIN": "B00SIM" + o["order_id"][-4:], "SellerSKU": "SKU-" + o["order_id"][-4:],
        "OrderItemId": o["order_id"].replace("-", "")[-14:], "Title": "Simulated item",
        "QuantityOrdered": qty, "QuantityShipped": qty if state.status == "Shipped" else 0,
        "ItemPrice": money(o["total"], o["currency"]),
    }
    if state.cancel is not None and state.cancel.data["by"] == "buyer":
        item["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true",
                                        "BuyerCancelReason": state.cancel.data.get("reason") or "BuyerCanceled"}
    return {"AmazonOrderId": o["order_id"], "OrderItems": [item]}


def order_2026(state: OrderState, included: set[str]) -> dict[str, Any]:
    """An Orders 2026-01-01 `Order`, with packages[] and cancellation when asked for."""
    o = state.data
    mfn = o["channel"] == "MFN"
    status = FULFILLMENT_STATUS_2026[state.status]
    fulfillment: dict[str, Any] = {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT" if mfn else "AMAZON"}
    if mfn:
        fulfillment["shipByWindow"] = {"earliestDateTime": format_instant(o["earliest_ship_date"]),
                                       "latestDateTime": format_instant(o["latest_ship_date"])}
        fulfillment["deliverByWindow"] = {"earliestDateTime": format_instant(o["earliest_delivery_date"]),
                                          "latestDateTime": format_instant(o["latest_delivery_date"])}
    qty = int(o["quantity"])
    item: dict[str, Any] = {
        "orderItemId": o["order_id"].replace("-", "")[-14:], "quantityOrdered": qty,
        "product": {"asin": "B00SIM" + o["order_id"][-4:], "sellerSku": "SKU-" + o["order_id"][-4:]},
        "fulfillment": {"quantityFulfilled": qty if state.status == "Shipped" else 0,
                        "quantityUnfulfilled": 0 if state.status == "Shipped" else qty},
    }
    if "CANCELLATION" in included and state.cancel is not None:
        by = state.cancel.data["by"]
        reason = state.cancel.data.get("reason") or by
        cancellation: dict[str, Any] = {"cancellationExecution": {"cancelledBy": CANCELLED_BY_2026.get(by, "AMAZON"),
                                                                  "cancelReason": reason}}
        if by == "buyer":
            cancellation["cancellationRequest"] = {"requester": "BUYER", "cancelReason": reason}
        item["cancellation"] = cancellation
    body: dict[str, Any] = {
        "orderId": o["order_id"], "createdTime": format_instant(o["purchase_date"]),
        "lastUpdatedTime": format_instant(state.last_update_2026),
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": o["marketplace_id"],
                         "marketplaceName": MARKETPLACE_NAMES.get(o["marketplace_id"], "Amazon")},
        "orderItems": [item],
    }
    if "FULFILLMENT" in included:
        body["fulfillment"] = fulfillment
    if o.get("is_business"):
        body["programs"] = ["AMAZON_BUSINESS"]
    if o.get("is_replacement"):
        body["associatedOrders"] = [{"orderId": o["order_id"], "associationType": "REPLACEMENT_ORIGINAL_ID"}]
    if "PACKAGES" in included and mfn and state.ship is not None:
        ship = state.ship.data
        valid = bool(ship["tracking_valid"])
        package_status = "SHIPPED"
        if valid:  # no carrier scans without valid tracking (FORMAT.md)
            package_status = "DELIVERED" if state.delivered is not None else "IN_TRANSIT"
        body["packages"] = [{
            "packageReferenceId": "1", "createdTime": format_instant(state.ship.at),
            "shipTime": format_instant(state.ship.at), "carrier": ship["carrier"],
            "trackingNumber": ship["tracking_id"], "shippingService": "Standard",
            "packageStatus": {"status": package_status},
            "packageItems": [{"orderItemId": item["orderItemId"], "quantity": qty}],
        }]
    return body


def financial_event(event: Event, order: dict[str, Any], reversal: bool) -> dict[str, Any]:
    """A `ShipmentEvent` for a granted claim or chargeback (negative amounts) or its reversal (positive)."""
    ident = event.data.get("claim_id") or event.data.get("chargeback_id")
    amount = float(event.data.get("amount", order["total"]))
    currency = event.data.get("currency", order["currency"])
    sign = 1 if reversal else -1
    return {
        "AmazonOrderId": order["order_id"],
        "PostedDate": format_instant(event.at),
        "MarketplaceName": MARKETPLACE_NAMES.get(order["marketplace_id"], "Amazon"),
        "ShipmentItemAdjustmentList": [{
            "SellerSKU": "SKU-" + order["order_id"][-4:],
            "OrderAdjustmentItemId": ident + ("-R" if reversal else ""),
            "QuantityShipped": int(order["quantity"]),
            "ItemChargeAdjustmentList": [{"ChargeType": "Principal",
                                          "ChargeAmount": {"CurrencyCode": currency, "CurrencyAmount": sign * amount}}],
        }],
    }


FEEDBACK_DATE_FORMATS = {
    "ATVPDKIKX0DER": "{m}/{d}/{yy}", "A2EUQ1WTGCTBG2": "{d}/{m}/{yy}", "A1PA6795UKMFR9": "{d}.{m}.{yy}",
    "A2NODRKZP88ZB9": "{yyyy}-{mm}-{dd}", "A1VC38T7YXB528": "{yy}/{m}/{d}",
}


def feedback_date(day: datetime, marketplace_id: str) -> str:
    """The report's Date column in the marketplace's format (SPAPI_NOTES §5); others use D/M/YY."""
    pattern = FEEDBACK_DATE_FORMATS.get(marketplace_id, "{d}/{m}/{yy}")
    return pattern.format(d=day.day, m=day.month, yy=f"{day.year % 100:02d}", yyyy=day.year,
                          mm=f"{day.month:02d}", dd=f"{day.day:02d}")


# GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: Amazon's documented columns ("Order Tracking reports
# attributes"), one row per order item. No ship-by, delivery-by, ship time or tracking: those come from the API.
ALL_ORDERS_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status", "fulfillment-channel",
    "sales-channel", "order-channel", "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity",
    "currency", "item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax",
    "item-promotion-discount", "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code",
    "ship-country", "promotion-ids", "cpf", "is-business-order", "purchase-order-number", "price-designation",
)
REPORT_STATUS = {"Canceled": "Cancelled", "PartiallyShipped": "Shipping"}  # the flat file's own spellings


def all_orders_row(state: OrderState) -> str:
    """One order's row of the all-orders flat file (every simulated order has one item line)."""
    o = state.data
    values = {
        "amazon-order-id": o["order_id"], "purchase-date": o["purchase_date"].isoformat(),
        "last-updated-date": state.last_update.isoformat(),
        "order-status": REPORT_STATUS.get(state.status, state.status),
        "fulfillment-channel": "Merchant" if o["channel"] == "MFN" else "Amazon",
        "sales-channel": MARKETPLACE_NAMES.get(o["marketplace_id"], "Amazon"), "ship-service-level": "Standard",
        "item-status": "Cancelled" if state.status == "Canceled" else "Unshipped" if state.status != "Shipped" else "Shipped",
        "quantity": str(int(o["quantity"])), "currency": o["currency"], "item-price": f"{float(o['total']):.2f}",
        "ship-country": "US", "is-business-order": "true" if o.get("is_business") else "false",
    }
    return "\t".join(values.get(column, "") for column in ALL_ORDERS_COLUMNS)
