"""Text → typed objects: load manifests safely (manifests, yamlsafe), model the workloads (model,
quantity) and link them to what selects them (index)."""
