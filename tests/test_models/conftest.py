"""Fixtures for the BEV track+map model tests."""
import pytest
import torch
from mmdet3d.registry import MODELS

from model_helpers import small_model_cfg


@pytest.fixture
def small_model():
    torch.manual_seed(0)
    return MODELS.build(small_model_cfg())
