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
around them.  :class:`Module` says what is a parameter, a buffer and a setting.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._autodiff import stop_gradient
from .._pytree import register_pytree_node
from .._tensor import Tensor, asarray
from .._typing import ArrayLike, OptionalArrayLike

__all__ = ["Module", "Sequential"]


def _is_module_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, Module) for v in value)


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of layers and models: PyTorch's ``nn.Module`` interface, as a pytree.

    A subclass calls ``super().__init__()``, assigns its parameters and
    sub-modules as attributes, and defines :meth:`forward`; calling the module
    calls ``forward``.  Every subclass is registered as a pytree node when it
    is defined, so a model goes through :func:`nabla.grad`,
    :func:`nabla.tree_map` and the optimizers of :mod:`nabla.nn.optim` like
    any pytree.

    What an attribute is depends on its value:

    * a :class:`~nabla.Tensor` is a **parameter**: a pytree leaf, so it gets a
      gradient and an optimizer update;
    * a ``Module``, or a non-empty list or tuple of modules, is a
      **sub-module**, whose parameters are leaves too (a list needs no
      ``ModuleList``: its modules are named ``"name.0"``, ``"name.1"``, ...);
    * :meth:`register_buffer` makes a **buffer**: state that is not trained,
      such as BatchNorm's running mean.  It is saved in :meth:`state_dict`
      but is not a pytree leaf (no gradient, no update);
    * anything else (numbers, strings, ``None``, tuples of ints, a random
      generator) is a **setting**: static data of the pytree node, copied
      as is into every module that unflattening makes.

    Attributes
    ----------
    training : bool
        True (the default) in training mode, False in evaluation mode; set by
        :meth:`train` and :meth:`eval` on a module and all its sub-modules.
        Dropout and BatchNorm read it.  It travels with the copies.

    Notes
    -----
    The interface is PyTorch's ``torch.nn.Module`` (attribute registration,
    ``named_parameters`` order, ``state_dict`` keys, ``train``/``eval``), with
    these differences:

    * **Functional updates.**  Nothing writes into a parameter: a transform
      flattens the module to its leaves and builds a *new* module of the same
      class around new tensors (:func:`nabla.grad` returns gradients in a
      module shaped like the model; an optimizer's ``step`` returns a new
      model).  Unflattening does not call ``__init__``.
    * **Shared buffers.**  The buffers live in one store, shared by the module
      and every copy that flattening and unflattening make (the gradient
      module, the optimizer's new model), so the running statistics that a
      forward pass updates are seen by the model the optimizer returns.
    * **Layouts.**  Arrays keep nabla's layouts in :meth:`state_dict`: HWIO
      convolution filters and ``(in, out)`` linear weights, where PyTorch has
      OIHW and ``(out, in)``; a checkpoint is ported by transposing them.
    * There are no hooks, no ``requires_grad`` (differentiate with respect to
      whichever argument you like) and no ``to(device)``.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self, seed=None):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8, seed=seed)
    ...         self.out = nn.Linear(8, 2, seed=seed)
    ...         self.slope = 0.5                                  # a setting
    ...
    ...     def forward(self, x):
    ...         return self.out(nb.relu(self.hidden(x)))
    >>> model = TwoLayer(seed=0)
    >>> model
    TwoLayer(
      (hidden): Linear(in_features=4, out_features=8)
      (out): Linear(in_features=8, out_features=2)
    )
    >>> [(name, p.shape) for name, p in model.named_parameters()]
    [('hidden.weight', (4, 8)), ('hidden.bias', (8,)), ('out.weight', (8, 2)), ('out.bias', (2,))]
    >>> model(np.ones((3, 4), np.float32)).shape
    (3, 2)

    The gradient is a ``TwoLayer`` of gradients; an optimizer step returns a
    new model and leaves the old one as it was:

    >>> x, y = nb.randn((5, 4), seed=1), np.array([0, 1, 1, 0, 1])
    >>> loss_fn = lambda m: nn.functional.cross_entropy_loss(m(x), y)
    >>> grads = nb.grad(loss_fn)(model)
    >>> type(grads).__name__, grads.hidden.weight.shape, grads.slope
    ('TwoLayer', (4, 8), 0.5)
    >>> new_model = nn.optim.SGD(model, lr=0.1).step(grads)
    >>> bool(loss_fn(new_model).item() < loss_fn(model).item())
    True

    A round trip through a file, with NumPy's ``.npz`` format:

    >>> import io
    >>> f = io.BytesIO()
    >>> np.savez(f, **new_model.state_dict())
    >>> _ = f.seek(0)
    >>> restored = TwoLayer(seed=1)
    >>> restored.load_state_dict(np.load(f))
    _IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    >>> bool(np.array_equal(restored.out.weight.numpy(), new_model.out.weight.numpy()))
    True
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d.setdefault("_children", ())   # names of parameters and sub-modules, in assignment order
        d.setdefault("_buffers", {})     # name -> Tensor, shared by all copies of this module
        d.setdefault("training", True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The pytree registry is keyed by exact type: register every subclass.
        super().__init_subclass__(**kwargs)
        _register(cls)

    # -------------------------------------------------------------- attributes
    def __setattr__(self, name: str, value: Any) -> None:
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

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails: buffers
        buffers = self.__dict__.get("_buffers", {})
        if name in buffers:
            return buffers[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d.get("_buffers", {}):
            del d["_buffers"][name]
            return
        d["_children"] = tuple(c for c in d.get("_children", ()) if c != name)
        del d[name]

    def register_buffer(self, name: str, value: OptionalArrayLike) -> None:
        """Add a buffer: state that is saved but not trained (PyTorch's ``register_buffer``).

        Parameters
        ----------
        name : str
            The attribute name: ``self.name`` reads the buffer, and assigning
            ``self.name = tensor`` later replaces it (as a constant: the new
            value goes through :func:`nabla.stop_gradient`).
        value : Tensor, array_like or None
            The initial value, read by :func:`nabla.asarray` and held as a
            constant.  ``None`` declares a buffer that is left out of
            :meth:`named_buffers` and :meth:`state_dict` until it is set.

        Raises
        ------
        KeyError
            If the module already has an attribute ``name`` (a parameter, a
            sub-module or a setting).
        TypeError
            If ``value`` cannot be read as an array of a supported dtype.

        Notes
        -----
        A buffer is listed by :meth:`named_buffers` and saved by
        :meth:`state_dict`, but it is not a pytree leaf: no gradient is taken
        with respect to it and optimizers leave it alone.  The buffers of a
        module are shared with every copy that flattening and unflattening
        make (the gradient module, an optimizer's new model), so a value set
        on one is seen by all.  Unlike PyTorch there is no ``persistent`` flag.

        Examples
        --------
        >>> import numpy as np, nabla as nb
        >>> from nabla import nn
        >>> class Counter(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.register_buffer("calls", np.zeros((), np.int64))
        ...
        ...     def forward(self, x):
        ...         self.calls = self.calls + 1
        ...         return x
        >>> c = Counter()
        >>> _ = c(1.0); _ = c(2.0)
        >>> c.calls, c.parameters()
        (Tensor(2, dtype=int64), [])
        >>> c.state_dict()
        {'calls': array(2)}
        """
        if "_children" not in self.__dict__:
            Module.__init__(self)
        if name in self.__dict__:
            raise KeyError(f"{type(self).__name__}.register_buffer: attribute {name!r} already exists")
        self.__dict__["_buffers"][name] = None if value is None else stop_gradient(asarray(value))

    # ----------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; subclasses define it.

        Call the module (``module(x)``) rather than ``forward``: the call
        passes its arguments on unchanged.

        Parameters
        ----------
        *args, **kwargs
            Whatever the subclass takes (for the layers, the input tensor).

        Returns
        -------
        Any
            Whatever the subclass returns (for the layers, a tensor).

        Raises
        ------
        NotImplementedError
            Here, in the base class.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``self.forward(*args, **kwargs)`` (there are no hooks)."""
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------- walks
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Iterate over the direct sub-modules, with their names.

        Yields
        ------
        (str, Module)
            ``(name, module)`` in assignment order; the modules of a list or
            tuple attribute ``blocks`` come as ``("blocks.0", m0)``,
            ``("blocks.1", m1)``, ...

        Examples
        --------
        >>> from nabla import nn
        >>> model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU())
        >>> [name for name, _ in model.named_children()]
        ['0', '1']
        """
        for name in self._children:
            value = self.__dict__[name]
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, m in enumerate(value):
                    yield f"{name}.{i}", m

    def children(self) -> list[Module]:
        """The direct sub-modules, in :meth:`named_children` order.

        Returns
        -------
        list of Module
            A new list (PyTorch returns an iterator).
        """
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Iterate over this module and all its sub-modules, depth first.

        Parameters
        ----------
        prefix : str, optional
            Prepended to every name (the module itself is named ``prefix``).

        Yields
        ------
        (str, Module)
            ``("", self)`` first, then ``(dotted name, module)`` for each
            sub-module, at any depth (``"0"``, ``"encoder.conv1"``).  Unlike
            PyTorch, a module that appears twice is yielded twice.

        Examples
        --------
        >>> from nabla import nn
        >>> model = nn.Sequential(nn.Sequential(nn.Linear(2, 3, seed=0)), nn.ReLU())
        >>> [name for name, _ in model.named_modules()]
        ['', '0', '0.0', '1']
        """
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """The parameters with their dotted names, in PyTorch's order.

        Parameters
        ----------
        prefix : str, optional
            Prepended to every name.

        Returns
        -------
        list of (str, Tensor)
            This module's own parameters in assignment order, then each
            sub-module's in turn: ``"0.weight"``, ``"0.bias"``,
            ``"conv1.weight"``, ...  A list (PyTorch returns an iterator).
            Buffers are not included (see :meth:`named_buffers`); a parameter
            set to ``None`` (``bias=False``) is left out.

        Examples
        --------
        >>> from nabla import nn
        >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, seed=0), nn.ReLU(), nn.Linear(4, 2, bias=False, seed=0))
        >>> [(name, p.shape) for name, p in model.named_parameters()]
        [('0.weight', (3, 3, 1, 4)), ('0.bias', (4,)), ('2.weight', (4, 2))]
        """
        out = [(f"{prefix}{n}", self.__dict__[n]) for n in self._children
               if isinstance(self.__dict__[n], Tensor)]
        for name, m in self.named_children():
            out += m.named_parameters(f"{prefix}{name}.")
        return out

    def parameters(self) -> list[Tensor]:
        """The parameter tensors, in :meth:`named_parameters` order.

        Returns
        -------
        list of Tensor
            The same leaves, in the same order, as ``nb.tree_flatten(self)[0]``.

        Examples
        --------
        >>> from nabla import nn
        >>> sum(p.size for p in nn.Linear(4, 2, seed=0).parameters())   # 4*2 + 2
        10
        """
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """The buffers with their dotted names: this module's, then each sub-module's.

        Parameters
        ----------
        prefix : str, optional
            Prepended to every name.

        Returns
        -------
        list of (str, Tensor)
            In registration order; a buffer whose value is ``None`` is left out.

        Examples
        --------
        >>> from nabla import nn
        >>> [name for name, _ in nn.Sequential(nn.BatchNorm2d(3)).named_buffers()]
        ['0.running_mean', '0.running_var', '0.num_batches_tracked']
        """
        out = [(f"{prefix}{n}", b) for n, b in self._buffers.items() if b is not None]
        for name, m in self.named_children():
            out += m.named_buffers(f"{prefix}{name}.")
        return out

    def buffers(self) -> list[Tensor]:
        """The buffer tensors, in :meth:`named_buffers` order.

        Returns
        -------
        list of Tensor
        """
        return [b for _, b in self.named_buffers()]

    # ------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (or, with ``mode=False``, evaluation mode), here and in every sub-module.

        Parameters
        ----------
        mode : bool, optional
            The new value of ``training``.

        Returns
        -------
        Module
            ``self``, for chaining.  The flag is set on this module object and
            its sub-modules; copies made later (by a transform or an optimizer
            step) keep it, copies made earlier do not change.

        Examples
        --------
        >>> from nabla import nn
        >>> model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Dropout(0.5))
        >>> model.eval()[1].training, model.train()[1].training
        (False, True)
        """
        for _, m in self.named_modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``self.train(False)``.

        In evaluation mode Dropout passes its input through and BatchNorm
        normalises with its running statistics (and stops updating them).

        Returns
        -------
        Module
            ``self``.
        """
        return self.train(False)

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, np.ndarray[Any, Any]]:
        """The parameters and buffers as NumPy arrays, keyed by dotted name.

        Returns
        -------
        dict of str to numpy.ndarray
            Copies (changing them changes nothing in the module), with
            PyTorch's keys and order: for each module, depth first, its
            parameters then its buffers (``"0.weight"``, ``"0.bias"``,
            ``"1.running_mean"``, ...).  ``None`` entries are left out.  Save
            it with ``np.savez(path, **sd)``; read it back with
            :meth:`load_state_dict`.

        Notes
        -----
        The arrays are in nabla's layouts: convolution filters HWIO
        ``(K_h, K_w, C_in / groups, C_out)``, transposed-convolution filters
        ``(K_h, K_w, C_out / groups, C_in)``, linear weights
        ``(in, out)``.  PyTorch's are ``(C_out, C_in / groups, K_h, K_w)``
        (OIHW), ``(C_in, C_out / groups, K_h, K_w)`` and ``(out, in)``:
        ``w.transpose(3, 2, 0, 1)`` converts either filter to PyTorch's
        layout, ``w.T`` the linear weight.

        Examples
        --------
        >>> from nabla import nn
        >>> sd = nn.Sequential(nn.Conv2d(1, 4, 3, seed=0), nn.BatchNorm2d(4)).state_dict()
        >>> {k: v.shape for k, v in sd.items()}     # doctest: +NORMALIZE_WHITESPACE
        {'0.weight': (3, 3, 1, 4), '0.bias': (4,), '1.weight': (4,), '1.bias': (4,),
         '1.running_mean': (4,), '1.running_var': (4,), '1.num_batches_tracked': ()}
        """
        return {k: np.array(t.numpy()) for k, (_, _, t) in self._state_slots().items()}

    def _state_slots(self) -> dict[str, tuple[Module, str, Tensor]]:
        """``{dotted name: (module, attribute, tensor)}`` for every parameter and
        (non-None) buffer, in state_dict order: each module's parameters, then its
        buffers, then its sub-modules'."""
        slots: dict[str, tuple[Module, str, Tensor]] = {}
        for prefix, m in self.named_modules():
            p = f"{prefix}." if prefix else ""
            for n in m._children:
                if isinstance(m.__dict__[n], Tensor):
                    slots[f"{p}{n}"] = (m, n, m.__dict__[n])
            for n, b in m._buffers.items():
                if b is not None:
                    slots[f"{p}{n}"] = (m, n, b)
        return slots

    def load_state_dict(self, state_dict: Mapping[str, ArrayLike],
                        strict: bool = True) -> tuple[list[str], list[str]]:
        """Replace the parameters and buffers by the arrays of ``state_dict``.

        Parameters
        ----------
        state_dict : mapping of str to array_like
            As :meth:`state_dict` returns it: a dict, or the result of
            ``np.load`` on an ``.npz`` file.  Each entry is converted to the
            dtype of the tensor it replaces.
        strict : bool, optional
            True: every key must match a parameter or buffer of the module and
            every parameter and buffer must have a key.  False: entries that
            do not match are skipped, and the module's tensors without an
            entry keep their values.

        Returns
        -------
        (missing_keys, unexpected_keys)
            A named tuple of two lists of keys: the module's tensors that had no
            entry, and the entries that match nothing (both empty when
            ``strict``).

        Raises
        ------
        KeyError
            With ``strict``, naming the missing and the unexpected keys.
        ValueError
            Naming an entry whose shape differs from the module's tensor.

        Notes
        -----
        Every entry is checked before anything changes, so a failed load
        leaves the module as it was.  New tensors are bound to this module
        object (and, for the buffers, to the store its copies share); no array
        is written into, and copies of the module made earlier keep their
        parameters.  The arrays must be in nabla's layouts (see
        :meth:`state_dict`).

        Examples
        --------
        >>> import numpy as np
        >>> from nabla import nn
        >>> a, b = nn.Linear(3, 2, seed=0), nn.Linear(3, 2, seed=1)
        >>> b.load_state_dict(a.state_dict())
        _IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> bool(np.array_equal(b.weight.numpy(), a.weight.numpy()))
        True
        >>> b.load_state_dict({"weight": np.zeros((3, 2))}, strict=False)
        _IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])
        >>> b.weight.dtype, float(b.weight.numpy().sum())
        (dtype('float32'), 0.0)
        >>> b.load_state_dict({"weight": np.zeros((2, 3))}, strict=False)
        Traceback (most recent call last):
            ...
        ValueError: Linear.load_state_dict: entry 'weight' has shape (2, 3), the module's has shape (3, 2)
        """
        slots = self._state_slots()
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
        """The settings shown between the parentheses of ``repr(module)``.

        Returns
        -------
        str
            ``""`` here; layers override it (``"in_features=4, out_features=2"``),
            and a subclass may too.  The sub-modules are shown after it, one a
            line, as PyTorch does.
        """
        return ""

    def __repr__(self) -> str:
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

    def __init__(self, cls: type[Module], names: tuple[str, ...], static: dict[str, Any]):
        self.cls, self.names, self.static = cls, names, static

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ModuleAux) and self.cls is other.cls and self.names == other.names

    def __hash__(self) -> int:
        return hash((self.cls, self.names))


def _flatten_module(m: Module) -> tuple[list[Any], _ModuleAux]:
    names = m.__dict__.get("_children", ())
    static = {k: v for k, v in m.__dict__.items() if k not in names}
    return [m.__dict__[n] for n in names], _ModuleAux(type(m), names, static)


def _unflatten_module(aux: _ModuleAux, children: list[Any]) -> Module:
    m = object.__new__(aux.cls)
    m.__dict__.update(aux.static)
    m.__dict__.update(zip(aux.names, children))
    return m


def _register(cls: type[Module]) -> None:
    register_pytree_node(cls, _flatten_module, _unflatten_module,
                         keys_func=lambda m, aux: [f".{n}" for n in aux.names])


_register(Module)


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(a, b, c)(x)`` is ``c(b(a(x)))``.

    PyTorch's ``nn.Sequential``.

    Parameters
    ----------
    *layers : Module
        The modules, in the order they are applied.  They are the
        sub-modules ``"0"``, ``"1"``, ..., so the :meth:`~Module.state_dict`
        keys are PyTorch's (``"0.weight"``, ``"2.bias"``).

    Raises
    ------
    TypeError
        If an argument is not a :class:`Module` (PyTorch's ``OrderedDict``
        form is not accepted).

    Notes
    -----
    ``seq[i]`` is the ``i``-th module, ``seq[i:j]`` a new ``Sequential`` of
    the same module objects, and ``len(seq)`` and ``for layer in seq`` work.
    :meth:`forward` passes one value from each module to the next, so a
    module that returns a tuple (``MaxPool2d(..., return_indices=True)``)
    must be the last.

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> from nabla import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
    ...                       nn.Flatten(), nn.Linear(4 * 4 * 4, 10, seed=1))
    >>> model(nb.randn((2, 8, 8, 1), seed=2)).shape
    (2, 10)
    >>> len(model), model[-1]
    (5, Linear(in_features=64, out_features=10))
    >>> model[:2]
    Sequential(
      (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=1)
      (1): ReLU()
    )
    >>> nn.Sequential(nn.ReLU(), nb.relu)
    Traceback (most recent call last):
        ...
    TypeError: Sequential: argument 1 must be a Module, got function
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(layer).__name__}")
            setattr(self, str(i), layer)

    def __getitem__(self, i: int | slice) -> Module:
        """The ``i``-th module, or a new ``Sequential`` of a slice of them."""
        layers = self.children()
        if isinstance(i, slice):
            return Sequential(*layers[i])
        return layers[i]

    def __len__(self) -> int:
        """The number of modules."""
        return len(self._children)

    def __iter__(self) -> Iterator[Module]:
        """Iterate over the modules, in order."""
        return iter(self.children())

    def forward(self, x: Any) -> Any:
        """Apply the modules in order: each one's output is the next one's input.

        Parameters
        ----------
        x : Tensor or array_like
            The first module's input (NHWC for a convolution).

        Returns
        -------
        Tensor
            The last module's output (the input itself for an empty ``Sequential``).
        """
        for layer in self.children():
            x = layer(x)
        return x
