"""One module per node kind; each has ``run(node, ctx, flow) -> StepResult``."""
