# metrics: the Prometheus textfile ([metrics] textfile); its tests read the
# file with the real node_exporter (textfile collector only).
DEB_PKGS += prometheus-node-exporter
