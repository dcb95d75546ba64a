"""scikit-learn's callback API for one fit: the fit task and one subtask per iteration.

With scikit-learn >= 1.9, ``est.set_callbacks(...)`` callbacks see the fit as a
task and every optimizer iteration as a subtask, as ``LogisticRegression``
reports its L-BFGS iterations. With older scikit-learn there is nothing to
report to and :class:`FitCallbacks` does nothing.
"""

from ._compat import HAS_SKLEARN_CALLBACKS
from .backprop import roll


class FitCallbacks:
    """Begin the fit task (on construction) and end it (:meth:`end`).

    ``max_iter``: the most iterations the fit can run, None when a stopping
    rule decides.

    ``iterations`` is the per-iteration bridge the solver's monitor calls, or
    None when no callback is set (or scikit-learn has no callback API).
    """

    def __init__(
        self, estimator, X, y, sample_weight, attributes, layer_sizes, x0, max_iter
    ):
        self.iterations = None
        self._ctx = None
        if not HAS_SKLEARN_CALLBACKS:
            return
        # One subtask per iteration, and the last, never-run one; None when a
        # stopping rule ends the fit at an iteration not known in advance
        # (a progress bar then shows the iterations, not a share of max_iter).
        self._ctx = estimator._init_callback_context(
            max_subtasks=None if max_iter is None else max_iter + 1
        )
        self._args = {
            "estimator": estimator,
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        self._ctx.call_on_fit_task_begin(**self._args)
        if hasattr(estimator, "_skl_callbacks"):  # as LogisticRegression does
            self.iterations = _IterationCallbacks(
                self._ctx,
                estimator,
                X,
                y,
                self._args["metadata"],
                attributes,
                layer_sizes,
                x0,
            )

    def end(self):
        """End the fit task; call once the fitted attributes are stored."""
        if self._ctx is not None:
            self._ctx.call_on_fit_task_end(**self._args, reconstruction_attributes={})


class _IterationCallbacks:
    """Forward each optimizer iteration to scikit-learn's callbacks.

    Mirrors scikit-learn's ``_LbfgsCallbackBridge`` of ``LogisticRegression``:
    each iteration is a subtask of the fit task; when the optimizer reports an
    iteration, the running subtask ends and the next one begins. ``close``
    ends the last, never-run subtask as an empty task.
    """

    def __init__(
        self, callback_ctx, estimator, X, y, metadata, attributes, layer_sizes, x0
    ):
        self._ctx = callback_ctx
        self._estimator = estimator
        self._X = X
        self._y = y
        self._metadata = metadata
        self._layer_sizes = layer_sizes
        self._fitted_attributes = attributes  # those of the targets (classes_)
        self._iter_ctx = self._begin(x0, 0)

    def _attributes(self, x, n_iter):
        def reconstruct():
            thetas = [t.copy() for t in roll(x, self._layer_sizes)]
            return {
                **self._fitted_attributes,
                "thetas_": thetas,
                "layer_sizes_": self._layer_sizes,
                "n_iter_": n_iter,
            }

        return reconstruct

    def _begin(self, x, n_iter):
        ctx = self._ctx.subcontext(task_name="iteration")
        ctx.call_on_fit_task_begin(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._attributes(x.copy(), n_iter),
        )
        return ctx

    def iteration_done(self, x, n_iter):
        """End iteration ``n_iter`` at ``x``; return True if a callback asks to stop."""
        x = x.copy()
        stop = self._iter_ctx.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._attributes(x, n_iter),
        )
        self._iter_ctx = self._begin(x, n_iter)
        return stop

    def close(self):
        self._iter_ctx.call_on_fit_task_end(estimator=self._estimator)
