"""The hand-written cells under torch's parameter names, and their copies to and from torch.

Every cell holds ``weight_ih``, ``weight_hh``, ``bias_ih`` and ``bias_hh`` with the shapes
and gate order of ``nn.RNNCell``/``nn.LSTMCell``/``nn.GRUCell``, so a torch cell's state dict
loads into ours and ours into a torch cell. The Elman RNN and the LSTM add their two biases
(their papers have one per gate): there ``bias_hh`` is a buffer, zero unless copied from
torch, so the trained parameters and their count stay the papers' and only ``bias_ih``
learns. Checkpoints written under the earlier names (``weight_hx``, ``weight_x``, ``bias``,
...) load unchanged: :meth:`TorchNamedCell._load_from_state_dict` renames their keys.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from sgtk.errors import SgtkError

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class TorchNamedCell(nn.Module):
    """Base of the hand-written cells: old checkpoint keys, ``from_torch`` and ``to_torch``."""

    #: The checkpoint keys of earlier versions -> torch's names.
    OLD_NAMES: ClassVar[dict[str, str]] = {}
    #: The one-layer torch module and torch cell this cell copies.
    TORCH: ClassVar[tuple[Any, Any]]
    #: What those need besides their sizes to compute what this cell does.
    TORCH_KWARGS: ClassVar[dict[str, Any]] = {}
    input_size: int
    hidden_size: int
    weight_ih: Tensor

    def rename_old_keys(self, state_dict: dict[str, Any], prefix: str) -> None:
        """Rename, in place, this cell's keys of an earlier version to torch's names."""
        old = [key for key in self.OLD_NAMES if prefix + key in state_dict]
        for key in old:
            if prefix + self.OLD_NAMES[key] not in state_dict:
                state_dict[prefix + self.OLD_NAMES[key]] = state_dict.pop(prefix + key)
        # An old checkpoint of a one-bias cell has no second bias: it was zero.
        if old and "bias_hh" in self._buffers and prefix + "bias_hh" not in state_dict:
            state_dict[prefix + "bias_hh"] = torch.zeros_like(self.get_buffer("bias_hh"))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        self.rename_old_keys(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @classmethod
    def from_torch(cls, module: nn.Module) -> Any:
        """A hand-written copy of a one-layer, unidirectional torch module of this kind (e.g.
        ``nn.LSTM``) or of its cell (``nn.LSTMCell``): the same outputs and gradients.

        A torch module without biases gives zero biases (which then train here)."""
        weights = torch_weights(module, cls.TORCH, cls.__name__)
        theirs = {k: getattr(module, k) for k in cls.TORCH_KWARGS}
        if theirs != cls.TORCH_KWARGS:
            raise SgtkError(
                f"{cls.__name__}.from_torch copies a module with {cls.TORCH_KWARGS}, not {theirs}"
            )
        cell = cls(module.input_size, module.hidden_size)
        cell.to(weights["weight_ih"])
        cell.load_state_dict(weights)
        return cell

    def to_torch(self) -> Any:
        """The one-layer torch module (``batch_first``) with this cell's weights, on its
        device and in its dtype: the same outputs and gradients."""
        ref = self.TORCH[0](
            self.input_size, self.hidden_size, batch_first=True, **self.TORCH_KWARGS
        )
        ref.to(self.weight_ih)
        with torch.no_grad():
            for name, value in self.state_dict().items():
                ref.get_parameter(f"{name}_l0").copy_(value)
        return ref

    def check_input(self, x: Tensor, *state: Tensor | None) -> None:
        """``x`` must be [B, T, input_size] and each given state [B, hidden_size]."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise SgtkError(
                f"{type(self).__name__} input has shape {list(x.shape)}: "
                f"give [batch, steps, {self.input_size}]"
            )
        for s in state:
            if s is not None and tuple(s.shape) != (x.shape[0], self.hidden_size):
                raise SgtkError(
                    f"{type(self).__name__} state has shape {list(s.shape)}: "
                    f"give [{x.shape[0]}, {self.hidden_size}] (batch, hidden)"
                )


def torch_weights(module: nn.Module, kinds: tuple[Any, Any], who: str) -> dict[str, Tensor]:
    """``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` of a one-layer torch module of
    ``kinds[0]`` or a cell of ``kinds[1]`` (zeros for a module without biases)."""
    seq, cell = kinds
    if type(module) is seq:
        projected = isinstance(module, nn.LSTM) and module.proj_size > 0
        if module.num_layers != 1 or module.bidirectional or projected:
            raise SgtkError(
                f"{who}.from_torch copies one layer, one direction, no projection: "
                f"split a stacked {seq.__name__} into one-layer modules first"
            )
        suffix = "_l0"
    elif type(module) is cell:
        suffix = ""
    else:
        raise SgtkError(
            f"{who}.from_torch copies an nn.{seq.__name__} or nn.{cell.__name__}, "
            f"not {type(module).__name__}"
        )
    weights: dict[str, Tensor] = {}
    for name in NAMES:
        if name.startswith("bias") and not module.bias:
            weights[name] = torch.zeros_like(weights["weight_ih"][:, 0])
        else:
            weights[name] = module.get_parameter(name + suffix).detach()
    return weights


def upgrade_state_dict(model: nn.Module, state_dict: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``state_dict`` with the keys of earlier versions renamed as ``model``'s
    modules rename them when they load (each module with a ``rename_old_keys`` method), so
    that a check of the keys before loading sees what loading will see."""
    upgraded = dict(state_dict)
    for name, module in model.named_modules():
        rename = getattr(module, "rename_old_keys", None)
        if callable(rename):
            rename(upgraded, f"{name}." if name else "")
    return upgraded
