"""TF-Agents side of BrightPath: the Gymnasium adapter, actor/value networks, the PPO agent
factory, the reference-policy KL penalty and the generator export.

Imports flow one way: ``agents`` uses ``envs`` and ``brightpath``; neither imports it.
Submodules import TensorFlow and TF-Agents; import them explicitly (``agents.ppo``).
"""
