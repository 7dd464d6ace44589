"""``Module``: a layer or model whose parameters form a pytree.

A module is written as in PyTorch: assign parameters (tensors) and sub-modules
as attributes in ``__init__``, compute in ``forward``::

    class TwoLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(4, 8)
            self.out = nn.Linear(8, 2)

        def forward(self, x):
            return self.out(nb.relu(self.hidden(x)))

and it is used as in JAX: a module is a pytree node whose leaves are its
parameters, so ``nb.grad(loss)(model, x, y)`` returns a gradient *shaped like
the model* (a ``TwoLayer`` whose tensors are gradients), ``nb.tree_map``
walks it, and an optimizer's ``step(grads)`` returns a new model.  Parameters
are never written into: a training step makes new tensors, and a new module
around them.

What is a parameter, a buffer, a setting:

* a :class:`~nabla.Tensor` attribute is a **parameter** (a pytree leaf, trained);
* a ``Module`` attribute, or a list/tuple of modules, is a **sub-module**;
* :meth:`Module.register_buffer` makes a **buffer**: state that is not trained,
  such as BatchNorm's running mean.  Buffers are not pytree leaves (so no
  gradient, no optimizer update); they live in one store shared by every copy
  of the module that flattening and unflattening make, so the model an
  optimizer returns sees the running statistics its forward passes updated,
  as a PyTorch user expects;
* anything else (ints, strings, ``None``, a random generator) is a **setting**,
  kept as static data of the pytree node.

``train()``/``eval()`` set the ``training`` flag of a module and its
sub-modules (Dropout and BatchNorm read it); the flag travels with the copies.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._autodiff import stop_gradient
from .._pytree import register_pytree_node
from .._tensor import Tensor, asarray

__all__ = ["Module", "Sequential"]


def _is_module_list(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, Module) for v in value)


class _IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of layers and models (PyTorch's ``nn.Module`` interface, as a pytree).

    Subclasses set parameters and sub-modules in ``__init__`` (after calling
    ``super().__init__()``) and define ``forward``; calling the module calls
    ``forward``.
    """

    def __init__(self):
        d = self.__dict__
        d.setdefault("_children", ())   # names of parameters and sub-modules, in assignment order
        d.setdefault("_buffers", {})     # name -> Tensor, shared by all copies of this module
        d.setdefault("training", True)

    def __init_subclass__(cls, **kwargs):
        # The pytree registry is keyed by exact type: register every subclass.
        super().__init_subclass__(**kwargs)
        _register(cls)

    # -------------------------------------------------------------- attributes
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_children" not in d:  # a subclass that forgot super().__init__()
            Module.__init__(self)
        if name in d["_buffers"]:
            d["_buffers"][name] = None if value is None else stop_gradient(value)
            return
        is_child = isinstance(value, (Tensor, Module)) or _is_module_list(value)
        children = d["_children"]
        if is_child and name not in children:
            d["_children"] = children + (name,)
        elif not is_child and name in children:
            d["_children"] = tuple(c for c in children if c != name)
        d[name] = value

    def __getattr__(self, name):  # only called when normal lookup fails: buffers
        buffers = self.__dict__.get("_buffers", {})
        if name in buffers:
            return buffers[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name):
        d = self.__dict__
        if name in d.get("_buffers", {}):
            del d["_buffers"][name]
            return
        d["_children"] = tuple(c for c in d.get("_children", ()) if c != name)
        del d[name]

    def register_buffer(self, name: str, value) -> None:
        """Add non-trained state ``name`` (a tensor, or ``None``), saved in
        :meth:`state_dict` but not a pytree leaf."""
        if "_children" not in self.__dict__:
            Module.__init__(self)
        if name in self.__dict__:
            raise KeyError(f"{type(self).__name__}.register_buffer: attribute {name!r} already exists")
        self.__dict__["_buffers"][name] = None if value is None else stop_gradient(asarray(value))

    # ----------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------- walks
    def named_children(self):
        """``(name, module)`` for each direct sub-module (lists as ``name.i``)."""
        for name in self._children:
            value = self.__dict__[name]
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def children(self) -> list:
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix: str = ""):
        """``(dotted name, module)`` for this module (name ``""``) and every sub-module."""
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> list:
        """``[(dotted name, tensor), ...]``: own parameters first, then each
        sub-module's, as PyTorch orders them (``"0.weight"``, ``"conv1.bias"``)."""
        out = [(f"{prefix}{n}", self.__dict__[n]) for n in self._children
               if isinstance(self.__dict__[n], Tensor)]
        for name, m in self.named_children():
            out += m.named_parameters(f"{prefix}{name}.")
        return out

    def parameters(self) -> list:
        """The parameter tensors, in :meth:`named_parameters` order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> list:
        out = [(f"{prefix}{n}", b) for n, b in self._buffers.items() if b is not None]
        for name, m in self.named_children():
            out += m.named_buffers(f"{prefix}{name}.")
        return out

    def buffers(self) -> list:
        return [b for _, b in self.named_buffers()]

    # ------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=False``: evaluation) here and in every sub-module; returns self."""
        for _, m in self.named_modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: Dropout passes its input through, BatchNorm uses its running statistics."""
        return self.train(False)

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> dict:
        """``{dotted name: ndarray}`` of parameters and buffers (copies), in the
        names and order PyTorch uses; arrays are in nabla's layouts (HWIO
        filters, ``(in, out)`` linear weights).  Save with ``np.savez(path, **sd)``."""
        entries = []
        for prefix, m in self.named_modules():
            p = f"{prefix}." if prefix else ""
            entries += [(f"{p}{n}", m.__dict__[n]) for n in m._children if isinstance(m.__dict__[n], Tensor)]
            entries += [(f"{p}{n}", b) for n, b in m._buffers.items() if b is not None]
        return {k: np.array(v.numpy()) for k, v in entries}

    def load_state_dict(self, state_dict, strict: bool = True):
        """Replace parameters and buffers by the arrays in ``state_dict`` (a dict,
        or an ``np.load`` result), converted to each tensor's dtype.

        Raises ``KeyError`` naming missing or unexpected entries (``strict``; with
        ``strict=False`` they are skipped and returned) and ``ValueError`` naming
        an entry whose shape differs.  Returns ``(missing_keys, unexpected_keys)``.
        This rebinds tensors on this module object (no array is written into).
        """
        slots = {}
        for prefix, m in self.named_modules():
            p = f"{prefix}." if prefix else ""
            for n in m._children:
                if isinstance(m.__dict__[n], Tensor):
                    slots[f"{p}{n}"] = (m, n, m.__dict__[n])
            for n, b in m._buffers.items():
                if b is not None:
                    slots[f"{p}{n}"] = (m, n, b)
        keys = list(state_dict.keys())
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in keys if k not in slots]
        if strict and (missing or unexpected):
            parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {unexpected}"] if unexpected else [])
            raise KeyError(f"{type(self).__name__}.load_state_dict: " + "; ".join(parts))
        new = {}
        for k in keys:
            if k not in slots:
                continue
            _, _, old = slots[k]
            arr = np.asarray(state_dict[k])
            if arr.shape != old.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: entry {k!r} has shape {arr.shape}, "
                                 f"the module's has shape {old.shape}")
            new[k] = Tensor(np.array(arr, dtype=old.dtype))
        for k, t in new.items():  # all checked before anything changes
            m, n, _ = slots[k]
            if n in m._buffers:
                m._buffers[n] = t
            else:
                m.__dict__[n] = t
        return _IncompatibleKeys(missing, unexpected)

    # -------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The settings shown between the parentheses of ``repr``."""
        return ""

    def __repr__(self):
        subs = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not subs:
            return head + ")"
        lines = [head]
        for name, m in subs:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


# ------------------------------------------------------------------ as a pytree
class _ModuleAux:
    """Static data of a module node: its class, child names and settings.  Two
    modules have the same structure when class and child names agree."""

    __slots__ = ("cls", "names", "static")

    def __init__(self, cls, names, static):
        self.cls, self.names, self.static = cls, names, static

    def __eq__(self, other):
        return isinstance(other, _ModuleAux) and self.cls is other.cls and self.names == other.names

    def __hash__(self):
        return hash((self.cls, self.names))


def _flatten_module(m: Module):
    names = m.__dict__.get("_children", ())
    static = {k: v for k, v in m.__dict__.items() if k not in names}
    return [m.__dict__[n] for n in names], _ModuleAux(type(m), names, static)


def _unflatten_module(aux: _ModuleAux, children):
    m = object.__new__(aux.cls)
    m.__dict__.update(aux.static)
    m.__dict__.update(zip(aux.names, children))
    return m


def _register(cls):
    register_pytree_node(cls, _flatten_module, _unflatten_module,
                         keys_func=lambda m, aux: [f".{n}" for n in aux.names])


_register(Module)


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Sub-modules are named ``"0"``, ``"1"``, ... (so state_dict keys are
    ``"0.weight"``, as in PyTorch); ``seq[i]``, ``len(seq)`` and iteration work.
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(layer).__name__}")
            setattr(self, str(i), layer)

    def __getitem__(self, i):
        layers = self.children()
        if isinstance(i, slice):
            return Sequential(*layers[i])
        return layers[i]

    def __len__(self):
        return len(self._children)

    def __iter__(self):
        return iter(self.children())

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x
