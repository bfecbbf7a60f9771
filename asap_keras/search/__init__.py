"""The search: schedules, the two-phase SearchModel, callbacks and the runner.

The package is also the API function: `asap_keras.search(config, data=...)` calls
`asap_keras.api.search`.
"""

from asap_keras.callable_module import make_callable

make_callable(__name__, "search")
