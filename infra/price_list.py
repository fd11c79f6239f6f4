"""Prices of one region read from the AWS Price List API (boto3 ``pricing``, ``GetProducts``).

Each price the cost model needs is one ``Query``: a service code, TERM_MATCH filters and
the usage type that names the product. The usage type is matched in code by its suffix
because AWS prefixes it with a region code that is not the region's name (``EUC1-``,
``APS2-``, and none or ``USE1-`` in us-east-1); the filters only narrow the answer.
This botocore's ``FilterType`` has TERM_MATCH only (attribute equals value).

Attribute names and values (Price List attribute names of each service, as listed by
``pricing describe-services`` / ``get-attribute-values``, and the usage types on the
pricing pages' bills):

- Fargate (AmazonECS, ``regionCode``): ``Fargate-vCPU-Hours:perCPU``,
  ``Fargate-GB-Hours``, ``Fargate-ARM-vCPU-Hours:perCPU``, ``Fargate-ARM-GB-Hours``.
- Network Load Balancer (AWSELB, ``regionCode``, ``productFamily`` "Load
  Balancer-Network"): ``LoadBalancerUsage`` (hour), ``LCUUsage`` (NLCU-hour).
- Public IPv4 (AmazonVPC, ``regionCode``): ``PublicIPv4:InUseAddress`` (hour).
- Route 53 (AmazonRoute53, global, ``productFamily`` "DNS Zone"): ``HostedZone``
  (month, first tier: the first 25 zones).
- S3 (AmazonS3, ``regionCode``, ``productFamily`` "Storage", ``volumeType`` "Standard"):
  ``TimedStorage-ByteHrs`` (GB-month, first tier: the first 50 TB).
- Data out to the internet (AWSDataTransfer, ``fromRegionCode``, ``transferType`` "AWS
  Outbound"): ``DataTransfer-Out-Bytes`` (GB; the first paid tier, 100 GB a month are
  free across the account and are not in these prices).
- NAT gateway (AmazonEC2, ``regionCode``, ``productFamily`` "NAT Gateway"):
  ``NatGateway-Hours``.
- CloudWatch Logs ingestion (AmazonCloudWatch, ``regionCode``, ``productFamily`` "Data
  Payload"): ``DataProcessing-Bytes`` (GB); an extra key, not in ``PriceTable``.

A price document's on-demand price is ``terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD``;
tiered prices have several dimensions (``beginRange``), of which the first paid tier is
taken.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import BotError

# The Price List API answers from these regions only (its endpoints).
PRICING_ENDPOINT_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")


@dataclass(frozen=True, slots=True)
class Query:
    key: str  # the PriceTable field it prices
    service_code: str
    filters: tuple[tuple[str, str], ...]  # TERM_MATCH (field, value); ``{region}`` filled in
    usagetype: str  # the usage type without its regional prefix
    unit: str  # the unit the price is per, for the ``source`` note and checks

    def term_filters(self, region: str) -> list[dict[str, str]]:
        return [
            {"Type": "TERM_MATCH", "Field": field, "Value": value.format(region=region)}
            for field, value in self.filters
        ]

    def describe(self) -> str:
        shown = ", ".join(f"{f}={v}" for f, v in self.filters)
        return f"{self.service_code}[{shown}] usagetype *{self.usagetype}"


_REGION = (("regionCode", "{region}"),)

QUERIES: tuple[Query, ...] = (
    Query("fargate_vcpu_hour", "AmazonECS", _REGION, "Fargate-vCPU-Hours:perCPU", "hours"),
    Query("fargate_gb_hour", "AmazonECS", _REGION, "Fargate-GB-Hours", "hours"),
    Query("fargate_arm_vcpu_hour", "AmazonECS", _REGION, "Fargate-ARM-vCPU-Hours:perCPU", "hours"),
    Query("fargate_arm_gb_hour", "AmazonECS", _REGION, "Fargate-ARM-GB-Hours", "hours"),
    Query(
        "nlb_hour",
        "AWSELB",
        (*_REGION, ("productFamily", "Load Balancer-Network")),
        "LoadBalancerUsage",
        "hrs",
    ),
    Query(
        "nlb_nlcu_hour",
        "AWSELB",
        (*_REGION, ("productFamily", "Load Balancer-Network")),
        "LCUUsage",
        "lcu-hrs",
    ),
    Query("public_ipv4_hour", "AmazonVPC", _REGION, "PublicIPv4:InUseAddress", "hrs"),
    Query(
        "route53_zone_month", "AmazonRoute53", (("productFamily", "DNS Zone"),), "HostedZone", "ea"
    ),
    Query(
        "s3_gb_month",
        "AmazonS3",
        (*_REGION, ("productFamily", "Storage"), ("volumeType", "Standard")),
        "TimedStorage-ByteHrs",
        "gb-mo",
    ),
    Query(
        "egress_gb",
        "AWSDataTransfer",
        (("fromRegionCode", "{region}"), ("transferType", "AWS Outbound")),
        "DataTransfer-Out-Bytes",
        "gb",
    ),
    Query(
        "nat_gateway_hour",
        "AmazonEC2",
        (*_REGION, ("productFamily", "NAT Gateway")),
        "NatGateway-Hours",
        "hrs",
    ),
    Query(
        "logs_ingestion_gb",
        "AmazonCloudWatch",
        (*_REGION, ("productFamily", "Data Payload")),
        "DataProcessing-Bytes",
        "gb",
    ),
)


class PriceListError(BotError):
    """An answer of the Price List API that does not give the price asked for."""


def usagetype_matches(usagetype: str, wanted: str) -> bool:
    """``APS2-Fargate-GB-Hours`` and ``Fargate-GB-Hours`` are ``Fargate-GB-Hours``;
    ``Fargate-ARM-GB-Hours`` is not (the prefix ends with a dash and has no other)."""
    if usagetype == wanted:
        return True
    prefix, sep, rest = usagetype.partition("-")
    return bool(sep) and rest == wanted and prefix.isalnum() and prefix.isupper()


def _documents(price_list: Iterable[object]) -> list[Mapping[str, Any]]:
    """``PriceList`` entries are JSON strings (format aws_v1); tolerate parsed ones."""
    docs: list[Mapping[str, Any]] = []
    for item in price_list:
        doc = json.loads(item) if isinstance(item, str) else item
        if not isinstance(doc, Mapping):
            raise PriceListError(f"Price List answer is not a price document: {item!r:.80}")
        docs.append(doc)
    return docs


def on_demand_price(doc: Mapping[str, Any]) -> float:
    """The first paid tier's USD price of one price document (lowest ``beginRange`` whose
    price is above zero, or zero when every tier is free)."""
    try:
        terms = doc["terms"]["OnDemand"]
        tiers: list[tuple[float, float]] = []
        for term in terms.values():
            for dim in term["priceDimensions"].values():
                begin = float(dim.get("beginRange", "0"))
                tiers.append((begin, float(dim["pricePerUnit"]["USD"])))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        sku = doc.get("product", {}).get("sku", "?") if isinstance(doc, Mapping) else "?"
        raise PriceListError(f"Price document {sku} has no on-demand USD price: {exc!r}") from exc
    if not tiers:
        raise PriceListError("Price document has no on-demand price dimension.")
    tiers.sort()
    paid = [price for _, price in tiers if price > 0]
    return paid[0] if paid else tiers[0][1]


def pick_price(query: Query, docs: Iterable[Mapping[str, Any]]) -> float:
    """The price of ``query`` among the documents of its ``GetProducts`` answer."""
    found: dict[float, str] = {}
    for doc in docs:
        attrs = doc.get("product", {}).get("attributes", {})
        if usagetype_matches(str(attrs.get("usagetype", "")), query.usagetype):
            found[on_demand_price(doc)] = str(doc.get("product", {}).get("sku", "?"))
    if not found:
        raise PriceListError(f"No price for {query.key}: {query.describe()} matched nothing.")
    if len(found) > 1:
        raise PriceListError(
            f"Several prices for {query.key} ({query.describe()}): {sorted(found)}; "
            "the filters need narrowing."
        )
    return next(iter(found))


def fetch_region(client: Any, region: str, queries: Iterable[Query] = QUERIES) -> dict[str, float]:
    """Every price of ``region`` from a boto3 ``pricing`` client: one paginated
    ``get_products`` per distinct (service, filters), shared by the queries that ask it."""
    answers: dict[tuple[str, tuple[tuple[str, str], ...]], list[Mapping[str, Any]]] = {}
    prices: dict[str, float] = {}
    for query in queries:
        ask = (query.service_code, query.filters)
        if ask not in answers:
            pages = client.get_paginator("get_products").paginate(
                ServiceCode=query.service_code,
                Filters=query.term_filters(region),
                FormatVersion="aws_v1",
            )
            answers[ask] = [doc for page in pages for doc in _documents(page["PriceList"])]
        prices[query.key] = pick_price(query, answers[ask])
    return prices


def filters_note() -> str:
    """The filters of every query in one line, for a table's ``source``."""
    return "; ".join(f"{q.key}: {q.describe()}" for q in QUERIES)
