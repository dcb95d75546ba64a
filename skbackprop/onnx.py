"""Export a fitted network to ONNX, through skl2onnx.

`ONNX <https://onnx.ai>`_ stores a model as a graph of standard operators that
a runtime such as onnxruntime evaluates without Python, numpy or
scikit-learn. skl2onnx converts scikit-learn estimators and pipelines to that
format; this module teaches it :class:`~skbackprop.BackpropClassifier` and
:class:`~skbackprop.BackpropRegressor`, with
:func:`skl2onnx.update_registered_converter`, the route skl2onnx documents
for an estimator it does not ship a converter for.

* :func:`to_onnx` registers the converters and converts, in one call.
* :func:`register_converters` only registers them, for code that calls
  :func:`skl2onnx.to_onnx` or :func:`skl2onnx.convert_sklearn` itself.

Either converts the network on its own or as a step of a
:class:`~sklearn.pipeline.Pipeline` (after a scaler, say), for every hidden
activation and output layer, binary, multiclass and multilabel targets, and
one or several regression targets.

The exported graph is the forward pass the estimator computes: one ``Gemm``
per layer, ``z(l+1) = a(l) Theta(l)[:, 1:]^T + Theta(l)[:, 0]``, the hidden
activation between layers, then the output layer's head. It computes in
float64 for a float64 input and in float32 otherwise. A regressor's head is
the identity: one output, ``variable``, as
:meth:`~skbackprop.BackpropRegressor.predict` (of shape ``(N,)`` when the
training ``y`` was 1-D, ``(N, n_outputs)`` otherwise). A classifier has
skl2onnx's two classifier outputs: ``label``, as
:meth:`~skbackprop.BackpropClassifier.predict` (integer and boolean labels
as int64, string labels as strings; for a multilabel target the 0/1
indicator matrix), and ``probabilities``, as
:meth:`~skbackprop.BackpropClassifier.predict_proba`. The converter takes
skl2onnx's classifier options: ``zipmap`` (``True``, skl2onnx's default: the
probabilities as a list of ``{label: probability}`` dicts, which onnxruntime
runs for float32 input only; ``False``: the plain array, :func:`to_onnx`'s
default; ``"columns"``: one output per class), ``nocl`` (class indices
instead of labels) and ``output_class_labels`` (an extra output holding the
labels).

skl2onnx, onnx and onnxruntime are the optional ``onnx`` extra
(``pip install 'skbackprop[onnx]'``). Importing this module imports none of
them; each function imports skl2onnx when called, and says which extra to
install when it is missing.
"""

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from ._classifier import BackpropClassifier
from ._dispatch import fitted_on_host
from ._path import BackpropClassifierCV, BackpropRegressorCV
from ._regressor import BackpropRegressor
from .backprop._array_api import to_numpy

__all__ = ["register_converters", "to_onnx"]

# The names skl2onnx knows the converters by.
_CLASSIFIER_ALIAS = "SkbackpropBackpropClassifier"
_REGRESSOR_ALIAS = "SkbackpropBackpropRegressor"
_TRANSFORMED_TARGET_ALIAS = "SkbackpropTransformedTargetRegressor"

# The classifier options the converter accepts, with their allowed values
# (the first is the default): skl2onnx's ZipMap of the probabilities, class
# indices instead of labels ("nocl"), and an extra output holding classes_.
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [False, True],
    "output_class_labels": [False, True],
}

# The ONNX operator of each hidden activation (skbackprop.backprop.activate).
_ACTIVATION_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}


def _import_skl2onnx():
    """Import skl2onnx, or raise an ImportError naming the extra to install."""
    try:
        import skl2onnx
    except ImportError as exc:
        raise ImportError(
            "Exporting a skbackprop model to ONNX requires skl2onnx, which is not "
            "installed. Install the onnx extra (skl2onnx, onnx and onnxruntime) "
            "with `pip install 'skbackprop[onnx]'`."
        ) from exc
    return skl2onnx


def register_converters():
    """Register skbackprop's converters with skl2onnx.

    Afterwards :func:`skl2onnx.to_onnx` and :func:`skl2onnx.convert_sklearn`
    convert a fitted :class:`~skbackprop.BackpropClassifier` or
    :class:`~skbackprop.BackpropRegressor`, on its own or as a step of a
    :class:`~sklearn.pipeline.Pipeline`, and a
    :class:`~sklearn.compose.TransformedTargetRegressor` with a linear
    transformer (see :func:`_inverse_transform_steps`) around any regressor
    skl2onnx converts. Calling it again registers the same
    converters again, which is harmless.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (the ``onnx`` extra).

    See Also
    --------
    to_onnx : Register and convert in one call.
    """
    skl2onnx = _import_skl2onnx()
    # The path estimators are fitted base estimators: the same converters.
    for model, alias in ((BackpropClassifier, ""), (BackpropClassifierCV, "CV")):
        skl2onnx.update_registered_converter(
            model,
            _CLASSIFIER_ALIAS + alias,
            _classifier_shape_calculator,
            _convert_classifier,
            options=_CLASSIFIER_OPTIONS,
        )
    for model, alias in ((BackpropRegressor, ""), (BackpropRegressorCV, "CV")):
        skl2onnx.update_registered_converter(
            model,
            _REGRESSOR_ALIAS + alias,
            _regressor_shape_calculator,
            _convert_regressor,
        )
    skl2onnx.update_registered_converter(
        TransformedTargetRegressor,
        _TRANSFORMED_TARGET_ALIAS,
        _transformed_target_shape_calculator,
        _convert_transformed_target,
        parser=_parse_transformed_target,
    )


def to_onnx(model, X=None, *, zipmap=False, options=None, **kwargs):
    """Convert a fitted model (a network, or a Pipeline ending in one) to ONNX.

    Registers the converters (:func:`register_converters`) and returns
    :func:`skl2onnx.to_onnx` ``(model, X, options=options, **kwargs)``, with
    one default changed: a classifier's probabilities are a plain array
    (``zipmap=False``).

    Parameters
    ----------
    model : estimator
        A fitted :class:`~skbackprop.BackpropClassifier` or
        :class:`~skbackprop.BackpropRegressor`, or any model skl2onnx
        converts that contains one, such as a
        :class:`~sklearn.pipeline.Pipeline`.
    X : array-like of shape (n_samples, n_features), default=None
        A few rows of input; skl2onnx takes the input's type (float32 or
        float64) and width from it. ``X[:1]`` is enough.
    zipmap : {False, True, "columns"}, default=False
        The ``zipmap`` option of every :class:`~skbackprop.BackpropClassifier`
        in ``model``. ``False``: the ``probabilities`` output is an
        ``(N, n_classes)`` array, the shape of ``predict_proba``. ``True``
        (skl2onnx's own default): a list of ``{label: probability}`` dicts,
        which onnxruntime runs for float32 input only (its ZipMap operator
        takes no float64). ``"columns"``: one output per class. Options given
        for the class in ``options`` take precedence.
    options : dict, default=None
        skl2onnx's per-model options, keyed by class or by ``id(model)``.
    **kwargs
        Passed to :func:`skl2onnx.to_onnx`, for example ``target_opset``.

    Returns
    -------
    onx : onnx.ModelProto
        The model; ``onx.SerializeToString()`` is the file's content.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (the ``onnx`` extra).
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.onnx import to_onnx
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    >>> clf = clf.fit(X, [0, 1, 1, 0])
    >>> onx = to_onnx(clf, X.astype(np.float32))
    >>> [output.name for output in onx.graph.output]
    ['label', 'probabilities']
    """
    skl2onnx = _import_skl2onnx()
    check_is_fitted(model)
    # ONNX holds host arrays: a model fitted on a device (every step of a
    # pipeline) is exported from its numpy copy, and an Array API X (for
    # the input type) is read on the host.
    model, X = fitted_on_host(model), to_numpy(X)
    register_converters()
    options = dict(options or {})
    for classifier in (BackpropClassifier, BackpropClassifierCV):
        options[classifier] = {"zipmap": zipmap, **options.get(classifier, {})}
    return skl2onnx.to_onnx(model, X, options=options, **kwargs)


# ---------------------------------------------------------------------------
# What skl2onnx calls: the shape calculator and the converter.
# ---------------------------------------------------------------------------


def _is_multilabel(model):
    return model._label_binarizer.y_type_ == "multilabel-indicator"


def _onnx_class_labels(classes):
    """The class labels as the values of an ONNX tensor: int64 or UTF-8 strings.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        ``classes_``, or the class indices when the option ``nocl`` is set.

    Returns
    -------
    elem_type : int
        ``onnx.TensorProto.INT64`` or ``onnx.TensorProto.STRING``.
    values : ndarray of shape (n_classes,)
        The labels as int64, or encoded as UTF-8 bytes.

    Raises
    ------
    ValueError
        If a label is neither a string nor an integer (a bool, or a float
        with an integral value, counts as one): an ONNX classifier's labels,
        and skl2onnx's ZipMap keys, are int64 or strings.
    """
    from onnx import TensorProto

    classes = np.asarray(classes)
    if classes.dtype.kind in "OU" and all(isinstance(c, str) for c in classes):
        return TensorProto.STRING, np.array([c.encode("utf-8") for c in classes])
    try:
        as_int64 = classes.astype(np.int64)
    except (TypeError, ValueError):
        as_int64 = None
    if as_int64 is not None and np.array_equal(as_int64, classes):
        return TensorProto.INT64, as_int64
    raise ValueError(
        "ONNX class labels are int64 or strings, but this model's classes_ are "
        f"{classes.tolist()!r}. Refit it with integer or string labels, or export "
        "it with the option nocl=True to get class indices instead of labels."
    )


def _network(operator):
    """The operator's fitted network, its arrays on the host.

    For :func:`skl2onnx.to_onnx` called directly on a model fitted on a
    device (:func:`to_onnx` has moved it already).
    """
    return fitted_on_host(operator.raw_operator)


def _check_input(operator, n_outputs):
    """Check the operator's input and return the fitted estimator.

    The input must be one float or int64 matrix, as wide as the network's
    input layer, and the operator must have ``n_outputs`` outputs.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the input's width differs from ``n_features_in_``.
    """
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )

    check_input_and_output_numbers(
        operator, input_count_range=1, output_count_range=n_outputs
    )
    check_input_and_output_types(
        operator, good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType]
    )
    model = _network(operator)
    check_is_fitted(model)
    input_shape = operator.inputs[0].type.shape
    if len(input_shape) != 2 or input_shape[1] not in (None, model.n_features_in_):
        raise ValueError(
            f"The ONNX input has shape {list(input_shape)}, but the network takes "
            f"(N, {model.n_features_in_}): pass rows of the training data's width "
            "as X, or an input type of shape [None, n_features_in_]."
        )
    return model


def _classifier_shape_calculator(operator):
    """skl2onnx's shape calculator for :class:`~skbackprop.BackpropClassifier`.

    Checks the input (one float or int64 matrix, as wide as the network's
    input layer) and declares the outputs: ``label`` of shape
    ``(N,)`` (``(N, n_labels)`` for a multilabel target), int64 or string,
    and ``probabilities`` of shape ``(N, n_classes)``.

    Parameters
    ----------
    operator : skl2onnx.common._topology.Operator
        The operator whose ``raw_operator`` is the fitted estimator.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the input's width differs from ``n_features_in_``, or the class
        labels cannot be ONNX labels (int64 or strings).
    """
    from onnx import TensorProto
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils_classifier import get_label_classes

    model = _check_input(operator, n_outputs=2)
    n = operator.inputs[0].get_first_dimension()
    elem_type, _ = _onnx_class_labels(get_label_classes(operator.scope_inst, model))
    label_type = Int64TensorType if elem_type == TensorProto.INT64 else StringTensorType
    n_outputs = len(model.classes_)
    operator.outputs[0].set_type(
        label_type([n, n_outputs] if _is_multilabel(model) else [n])
    )
    operator.outputs[1].type.shape = [n, n_outputs]


def _convert_classifier(scope, operator, container):
    """skl2onnx's converter for :class:`~skbackprop.BackpropClassifier`.

    Adds the forward pass (``_forward_z_nodes``) and the output layer's
    head to the graph, writing the operator's two outputs, labels and
    probabilities, exactly as ``predict`` and ``predict_proba`` compute them.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names to variables and nodes.
    operator : skl2onnx.common._topology.Operator
        The operator whose ``raw_operator`` is the fitted estimator.
    container : skl2onnx.common._container.ModelComponentContainer
        The graph being built.
    """
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.common.utils_classifier import get_label_classes

    model = _network(operator)
    proto_dtype = guess_proto_type(operator.outputs[1].type)
    graph = _GraphBuilder(scope, container, proto_dtype)
    x = graph.cast(operator.inputs[0].full_name, proto_dtype)
    z = _forward_z_nodes(graph, x, model.thetas_, model.activation)
    label, proba = (output.full_name for output in operator.outputs)
    if _is_multilabel(model):
        _multilabel_head(graph, z, label, proba)
        return
    elem_type, classes = _onnx_class_labels(get_label_classes(scope, model))
    classes = graph.constant("classes", classes, elem_type)
    if model.thetas_[-1].shape[0] == 1:
        _binary_sigmoid_head(graph, z, classes, label, proba)
    elif model._fitted_output_activation == "softmax":
        graph.node("Softmax", [z], proba, axis=1)
        graph.node("Gather", [classes, _argmax(graph, z)], label, axis=0)
    else:
        _one_vs_all_head(graph, z, classes, label, proba)


def _regressor_shape_calculator(operator):
    """skl2onnx's shape calculator for :class:`~skbackprop.BackpropRegressor`.

    Checks the input (one float or int64 matrix, as wide as the network's
    input layer) and declares the output ``variable``: of shape ``(N,)``
    when the training ``y`` was 1-D, as ``predict`` returns it, and
    ``(N, n_outputs)`` otherwise. Its type, float or double, skl2onnx's
    parser has already taken from the input's.

    Parameters
    ----------
    operator : skl2onnx.common._topology.Operator
        The operator whose ``raw_operator`` is the fitted estimator.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If the input's width differs from ``n_features_in_``.
    """
    model = _check_input(operator, n_outputs=1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type.shape = (
        [n] if model._y_ndim == 1 else [n, model.n_outputs_]
    )


def _convert_regressor(scope, operator, container):
    """skl2onnx's converter for :class:`~skbackprop.BackpropRegressor`.

    Adds the forward pass (``_forward_z_nodes``) and the identity output
    layer, ``h(x) = z(L)``, writing the operator's output as ``predict``
    computes it: flattened to ``(N,)`` when the training ``y`` was 1-D.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
        Gives unique names to variables and nodes.
    operator : skl2onnx.common._topology.Operator
        The operator whose ``raw_operator`` is the fitted estimator.
    container : skl2onnx.common._container.ModelComponentContainer
        The graph being built.
    """
    from skl2onnx.common.data_types import guess_proto_type

    model = _network(operator)
    proto_dtype = guess_proto_type(operator.outputs[0].type)
    graph = _GraphBuilder(scope, container, proto_dtype)
    x = graph.cast(operator.inputs[0].full_name, proto_dtype)
    z = _forward_z_nodes(graph, x, model.thetas_, model.activation)
    prediction = operator.outputs[0].full_name
    if model._y_ndim == 1:
        flat = graph.constant("flat", np.array([-1]), _int64())
        graph.node("Reshape", [z, flat], prediction)
    else:
        graph.node("Identity", [z], prediction)


# ---------------------------------------------------------------------------
# The graph: the layer stack, then one head per kind of output layer.
# ---------------------------------------------------------------------------


class _GraphBuilder:
    """Adds uniquely named nodes and constants to skl2onnx's container.

    Parameters
    ----------
    scope : skl2onnx.common._topology.Scope
    container : skl2onnx.common._container.ModelComponentContainer
    proto_dtype : int
        The ONNX element type the network computes in (float or double).
    """

    def __init__(self, scope, container, proto_dtype):
        from onnx.helper import tensor_dtype_to_np_dtype

        self.scope = scope
        self.container = container
        self.proto_dtype = proto_dtype
        self.dtype = tensor_dtype_to_np_dtype(proto_dtype)

    def node(self, op_type, inputs, output=None, **attrs):
        """Add one node; return the name of its output (new unless given)."""
        if output is None:
            output = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            output,
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return output

    def constant(self, name, value, elem_type=None):
        """Add an initializer holding ``value``; return its unique name.

        ``elem_type`` defaults to the compute type, with ``value`` cast to it.
        """
        if elem_type is None:
            elem_type = self.proto_dtype
            value = np.asarray(value, dtype=self.dtype)
        unique = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(
            unique, elem_type, list(np.shape(value)), np.ravel(value)
        )
        return unique

    def cast(self, name, elem_type, output=None):
        """A Cast node: ``name`` as ``elem_type`` (a copy when it is already)."""
        return self.node("Cast", [name], output, to=elem_type)


def _forward_z_nodes(graph, x, thetas, activation):
    """The forward pass as ONNX nodes, up to the output layer's inputs ``z(L)``.

    The graph form of :func:`skbackprop.backprop.forward_propagate`: per
    layer ``z(l+1) = Gemm(a(l), Theta(l)[:, 1:], Theta(l)[:, 0], transB=1)``,
    that is ``a(l) Theta(l)[:, 1:]^T + Theta(l)[:, 0]``, and
    ``a(l+1) = g(z(l+1))`` between layers. Every head (a classifier's, a
    regressor's identity) starts from the ``z(L)`` it returns.

    Parameters
    ----------
    graph : _GraphBuilder
        The graph being built.
    x : str
        Name of the input matrix ``a(1)``, in the compute type.
    thetas : list of ndarray
        ``Theta(l)`` matrices, bias in column 0.
    activation : {"sigmoid", "tanh", "relu"}
        The hidden layers' activation.

    Returns
    -------
    z : str
        Name of ``z(L)``, of shape ``(N, s_L)``.
    """
    a = x
    for layer, theta in enumerate(thetas, start=1):
        weights = graph.constant(f"Theta{layer}_weights", theta[:, 1:])
        bias = graph.constant(f"Theta{layer}_bias", theta[:, 0])
        z = graph.node("Gemm", [a, weights, bias], transB=1)
        if layer < len(thetas):
            a = graph.node(_ACTIVATION_OPS[activation], [z])
    return z


def _argmax(graph, z):
    """Index of each row's largest ``z``, the first one on a tie (as numpy)."""
    return graph.node("ArgMax", [z], axis=1, keepdims=0)


def _positive(graph, z, output=None):
    """``z > 0`` as int64: a logistic unit's ``h > 0.5``."""
    zero = graph.constant("zero", 0.0)
    return graph.cast(graph.node("Greater", [z, zero]), _int64(), output)


def _int64():
    from onnx import TensorProto

    return TensorProto.INT64


def _binary_sigmoid_head(graph, z, classes, label, proba):
    """One logistic unit: probabilities ``[g(-z), g(z)]``, label ``classes[z > 0]``."""
    h_negative = graph.node("Sigmoid", [graph.node("Neg", [z])])
    h_positive = graph.node("Sigmoid", [z])
    graph.node("Concat", [h_negative, h_positive], proba, axis=1)
    minus_one = graph.constant("minus_one", np.array([-1]), _int64())
    index = graph.node("Reshape", [_positive(graph, z), minus_one])
    graph.node("Gather", [classes, index], label, axis=0)


def _one_vs_all_head(graph, z, classes, label, proba):
    """One logistic unit per class: ``h / sum(h)``, label of the largest ``z``.

    The normalisation is a softmax of ``log h = min(z, 0) - log(1 + exp(-|z|))``,
    as ``predict_log_proba`` computes it in log space, so that rows whose
    outputs all underflow still get probabilities.
    """
    one = graph.constant("one", 1.0)
    zero = graph.constant("zero", 0.0)
    exp_minus_abs = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
    log_1p = graph.node("Log", [graph.node("Add", [one, exp_minus_abs])])
    log_h = graph.node("Sub", [graph.node("Min", [z, zero]), log_1p])
    graph.node("Softmax", [log_h], proba, axis=1)
    graph.node("Gather", [classes, _argmax(graph, z)], label, axis=0)


def _multilabel_head(graph, z, label, proba):
    """One independent logistic unit per label: ``h = g(z)``, label ``z > 0``."""
    graph.node("Sigmoid", [z], proba)
    _positive(graph, z, label)


# ---------------------------------------------------------------------------
# TransformedTargetRegressor: the regressor's graph, then the inverse of a
# linear transformer of the targets.
# ---------------------------------------------------------------------------


def _inverse_transform_steps(transformer):
    """``transformer.inverse_transform`` as ONNX steps: ``[(op, constant), ...]``.

    The linear target transformers, each step the arithmetic scikit-learn's
    ``inverse_transform`` does, in its order: :class:`StandardScaler`
    (``y * scale_ + mean_``), :class:`MinMaxScaler` (``(y - min_) / scale_``),
    :class:`MaxAbsScaler` (``y * scale_``), and the identity
    :class:`FunctionTransformer` that ``TransformedTargetRegressor`` uses
    when given neither a transformer nor functions.

    Raises
    ------
    ValueError
        For any other transformer (a nonlinear one, or functions), naming it.
    """
    kind = type(transformer)
    if kind is StandardScaler:
        steps = [("Mul", transformer.scale_), ("Add", transformer.mean_)]
        return [(op, value) for op, value in steps if value is not None]
    if kind is MinMaxScaler:
        return [("Sub", transformer.min_), ("Div", transformer.scale_)]
    if kind is MaxAbsScaler:
        return [("Mul", transformer.scale_)]
    if (
        kind is FunctionTransformer
        and transformer.func is None
        and transformer.inverse_func is None
    ):
        return []
    raise ValueError(
        "skbackprop's ONNX converter for TransformedTargetRegressor takes a "
        "linear target transformer (StandardScaler, MinMaxScaler, MaxAbsScaler, "
        f"or none); got {transformer!r}. Export the regressor alone and apply "
        "the inverse transform outside the graph."
    )


def _parse_transformed_target(scope, model, inputs, custom_parsers=None):
    """skl2onnx's parser for :class:`~sklearn.compose.TransformedTargetRegressor`.

    Declares two operators: the fitted ``regressor_`` (parsed as skl2onnx
    parses any model, a :class:`~sklearn.pipeline.Pipeline` included), then
    this one, which maps the regressor's output back to the targets' units.
    """
    from skl2onnx._parse import _parse_sklearn
    from skl2onnx.common.data_types import guess_tensor_type

    check_is_fitted(model)
    _inverse_transform_steps(model.transformer_)  # refuse early, before parsing
    inner = _parse_sklearn(
        scope, model.regressor_, inputs, custom_parsers=custom_parsers
    )
    operator = scope.declare_local_operator(_TRANSFORMED_TARGET_ALIAS, model)
    operator.inputs = inner[:1]
    variable = scope.declare_local_variable(
        "variable", guess_tensor_type(inner[0].type)
    )
    operator.outputs.append(variable)
    return operator.outputs


def _transformed_target_shape_calculator(operator):
    """The output's shape, as ``predict`` returns it: ``(N,)`` for a 1-D
    training ``y``, ``(N, n_targets)`` otherwise."""
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    n_targets = model.transformer_.n_features_in_
    operator.outputs[0].type.shape = [n] if model._training_dim == 1 else [n, n_targets]


def _convert_transformed_target(scope, operator, container):
    """The converter: the regressor's output as a ``(N, n_targets)`` matrix,
    the inverse transform's steps, then ``predict``'s shape."""
    from skl2onnx.common.data_types import guess_proto_type

    model = operator.raw_operator
    proto_dtype = guess_proto_type(operator.outputs[0].type)
    graph = _GraphBuilder(scope, container, proto_dtype)
    n_targets = model.transformer_.n_features_in_
    matrix = graph.constant("matrix", np.array([-1, n_targets]), _int64())
    y = graph.node("Reshape", [operator.inputs[0].full_name, matrix])
    for op, value in _inverse_transform_steps(model.transformer_):
        y = graph.node(op, [y, graph.constant(op.lower(), value)])
    shape = [-1] if model._training_dim == 1 else [-1, n_targets]
    graph.node(
        "Reshape",
        [y, graph.constant("shape", np.array(shape), _int64())],
        operator.outputs[0].full_name,
    )
