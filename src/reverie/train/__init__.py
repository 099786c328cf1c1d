"""`reverie.train`: the one loop every model trains through (`fit`), the knobs every
trainer shares (`TrainConfig`), and the `Task` a model supplies: its step, its evaluation
and its state."""
from reverie.train.config import (SHARED, TrainConfig, checkpoint_every_knob,  # noqa: F401
                                  eval_every_knob, max_steps_knob)
from reverie.train.loop import (Env, Run, Task, cosine_lr, ema_copy,  # noqa: F401
                                ema_update, fit, model_path, optimize)
