"""Test configuration shared by every test module."""

import pytest


@pytest.fixture
def interrupt_after(monkeypatch):
    """``interrupt_after(n)``: Ctrl-C from the optimizer's callback after n iterations.

    Patches ``minimize`` where the solver module looks it up, so the
    KeyboardInterrupt comes from inside ``scipy.optimize.minimize``, as a real
    Ctrl-C during training would.
    """
    import skbackprop._solver as solver_module

    real_minimize = solver_module.minimize

    def patch(n_iterations):
        def minimize(*args, callback, **kwargs):
            count = [0]

            def interrupting(intermediate_result):
                callback(intermediate_result)
                count[0] += 1
                if count[0] == n_iterations:
                    raise KeyboardInterrupt

            return real_minimize(*args, callback=interrupting, **kwargs)

        monkeypatch.setattr(solver_module, "minimize", minimize)

    return patch
