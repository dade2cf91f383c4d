"""The paper's networks by name, one file per family (timm-style registry).

``create_model(model, stn, in_shape=..., num_classes=...)`` builds ``model["name"]`` (``fcn``
and ``cnn`` on MNIST, ``svhn``, ``cub``) from its ``model`` and ``stn`` configs, each checked
against the family's typed options first (``stn.options.typed``): an option the family does
not read is an error, never ignored. Every network lists its STs, in depth order, as
``transformers``. ``pretrained(NAME)`` loads a recorded, trained network
(``pretrained_names()`` lists them).

A new network: a builder ``(*, options, stn, in_shape, num_classes) -> nn.Module`` with a
dataclass of its ``model`` options and one of its ``stn`` options, registered with
``@register(name, Options, STOptions)`` in its own file, imported below.
"""

from stn.models import cub, mnist, svhn  # noqa: F401  (each registers its networks)
from stn.models.pretrained import pretrained, pretrained_names
from stn.models.registry import MODELS, create_model, model_options, register

__all__ = ["MODELS", "create_model", "model_options", "pretrained", "pretrained_names", "register"]
