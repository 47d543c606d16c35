"""``/api/2.0/webhooks`` management (https://x-series-api.lightspeedhq.com/docs/webhooks; beta in the Postman
collection, described by S4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .http import api_route, empty_response, json_response, read_json

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:
    hooks = emulator.webhooks

    async def list_or_create(request: Request, app: str) -> Response:
        if request.method == "GET":
            with emulator.lock:
                return json_response({"data": hooks.all()})
        body = await read_json(request)
        with emulator.lock:
            hook = hooks.create(emulator.new_id(), body)
            return json_response({"data": hook}, 201)

    async def one(request: Request, app: str) -> Response:
        hook_id = request.path_params["webhook_id"]
        if request.method == "DELETE":
            with emulator.lock:
                hooks.delete(hook_id)
            return empty_response(204)
        if request.method == "PUT":
            body = await read_json(request)
            with emulator.lock:
                return json_response({"data": hooks.update(hook_id, body)})
        with emulator.lock:
            return json_response({"data": hooks.get(hook_id)})

    return [
        api_route(emulator, "/api/2.0/webhooks", list_or_create, ["GET", "POST"]),
        api_route(emulator, "/api/2.0/webhooks/{webhook_id}", one, ["GET", "PUT", "DELETE"]),
    ]
