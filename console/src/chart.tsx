/**
 * Chart.js on a canvas, drawn from data (no hand-drawn SVG). Every chart has a text label for
 * assistive technology, and every page that shows one shows its numbers in a table too.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { useEffect, useRef } from 'react';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, ScatterController, PointElement, LineController, LineElement);
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.color = '#1f2933';

export const PALETTE: Record<string, string> = {
  ACCEPTED: '#1b7f3b',
  REJECTED: '#b42318',
  INCONCLUSIVE: '#b54708',
  ERROR: '#5d2b90',
  PENDING: '#52606d',
  local: '#1d4f91',
  facia: '#0e7c86',
  rekognition: '#a3501d',
};

export function ChartView({ config, label }: { config: ChartConfiguration; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(ref.current!, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <div className="chart">
      <canvas ref={ref} role="img" aria-label={label} />
    </div>
  );
}
