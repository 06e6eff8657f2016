"""The OpenAI-compatible gateway: routes, the pipeline and its stages, error mapping."""

from sekisho.gateway import stages
from sekisho.gateway.call import Call
from sekisho.gateway.errors import GatewayError
from sekisho.gateway.pipeline import Pipeline, Stages
from sekisho.gateway.routes import gateway_routes

__all__ = ["Call", "GatewayError", "Pipeline", "Stages", "gateway_routes", "stages"]
