"""GeoReport v2 answers as JSON or XML: the same Python data, the element names of the spec."""

import json
from xml.etree import ElementTree

from django.http import HttpResponse

# The spec's XML: a list answer is a root element with one child per item.
ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _text(value) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(element: ElementTree.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        child = ITEM_OF.get(element.tag, "item")
        for item in value:
            _fill(ElementTree.SubElement(element, child), item)
    else:
        element.text = _text(value)


def to_xml(root: str, data) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, data)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(fmt: str, root: str, data, status: int = 200) -> HttpResponse:
    """`root` names the XML root ("services", "service_requests", ...); JSON is `data` itself."""
    if fmt == "xml":
        body = to_xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    return HttpResponse(body, status=status, content_type=FORMATS.get(fmt, FORMATS["json"]))


def errors(fmt: str, status: int, messages: list[str]) -> HttpResponse:
    """The spec's error answer: a list of {code, description}."""
    return respond(fmt, "errors", [{"code": status, "description": m} for m in messages], status)
