# Fully supervised oracle on nuScenes: every training sample carries map and
# tracking labels. Evaluation keeps the partial runs' partition for its per-role keys.
_base_ = ['./bev-track-map_r101_8xb1-20e_nus-partial.py']

train_dataloader = dict(dataset=dict(partition=dict(map='all', track='all')))
