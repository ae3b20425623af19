# Fully supervised oracle on the toy world: every training sample carries map and
# tracking labels. Evaluation keeps the baseline's partition, so its per-role
# numbers line up with the partial runs.
_base_ = ['./bev-track-map_r18-tiny_1xb2-toy-nus-partial.py']

train_dataloader = dict(dataset=dict(partition=dict(map='all', track='all')))
