import { render } from 'preact'
import { initApi } from './api'
import { App } from './app'
import './styles.css'

const root = document.getElementById('app')
if (!root) throw new Error('no #app element')

initApi().then(
  () => render(<App />, root),
  () => {
    root.innerHTML = ''
    const message = document.createElement('p')
    message.className = 'notice notice-problem'
    message.setAttribute('role', 'alert')
    message.textContent = 'The ticket service cannot be reached. Check your connection and reload the page.'
    root.append(message)
  },
)
