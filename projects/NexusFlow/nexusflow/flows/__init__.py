from .actnorm import ActNorm  # noqa: F401
from .attention_pool import AttentionPoolReducer  # noqa: F401
from .coupling import AffineCoupling  # noqa: F401
from .invertible_flow import FlowOutput, InvertibleFlow  # noqa: F401
from .nexusflow import NexusFlow  # noqa: F401
from .surrogate import (ControlMLP, SurrogateNetwork,  # noqa: F401
                        SurrogateOutput)
