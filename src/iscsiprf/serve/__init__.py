"""serve layer: the counters for management tools — a CIM-XML (WBEM) server, a Prometheus
exporter and a live terminal view, all reading one `source.InstanceSource`
(the live collector behind `--config`, or a JSON snapshot). See docs/serving.md."""
