"""What the request bodies' rules are, said in the OpenAPI schema as the server enforces them: a body with an
unknown field is refused, so its schema is closed; a chat completion answers the last user message, so its
messages must contain one."""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Schema

from serving import schemas

_A_USER_MESSAGE = Schema(type=OpenAPIType.OBJECT, properties={"role": Schema(const="user")}, required=["role"])


def declare_body_rules(app: Litestar) -> None:
    components = app.openapi_schema.components.schemas
    for name, component in components.items():
        struct = getattr(schemas, name, None)
        if isinstance(struct, type) and issubclass(struct, msgspec.Struct):
            if struct.__struct_config__.forbid_unknown_fields:
                component.additional_properties = False
    request = components["CompletionRequest"]
    messages = request.properties.get("messages") if isinstance(request, Schema) and request.properties else None
    if not isinstance(messages, Schema):
        raise TypeError("the OpenAPI schema of CompletionRequest has no inline schema for its messages")
    messages.contains = _A_USER_MESSAGE
